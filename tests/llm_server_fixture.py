"""A live `switchboard llm-server` (SmolLM2 on CPU) for tests: its base URL and its log file."""

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from speech_server_fixture import free_port

from pipeline.agent.endpoints import llm_problem

REPO = Path(__file__).resolve().parent.parent
MODEL = "smollm2-135m-instruct"


@contextmanager
def live_llm_server(log_path: Path, ready_s: float = 180) -> Iterator[str]:
    """Start the server logging to log_path, yield its /v1 URL once it serves, stop it."""
    port = free_port()
    log = log_path.open("wb")
    command = [sys.executable, "-m", "pipeline.cli", "llm-server", "--port", str(port)]
    server = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=log)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + ready_s
        while llm_problem(base_url, "none", MODEL):
            assert server.poll() is None and time.monotonic() < deadline, "llm-server not up"
            time.sleep(1)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
