"""An ASGI app served for real by uvicorn on a free port, in a thread of the test process.

In: the app. Out: its base URL (http://127.0.0.1:PORT) while the context lasts; the app runs
in this process, so its Prometheus metrics and files can be read here.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from speech_server_fixture import free_port


@contextmanager
def serving(app: Any, start_timeout_s: float = 30) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
