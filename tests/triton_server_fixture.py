"""A live `switchboard turn-server` (Smart Turn on Triton, CPU) for tests: one per session.

The server runs in its own process group (pipeline.bench.turn.turn_server_process), so tests
can `kill()` all of it at once, as a node failure would, and `start()` it again on the same
ports. Teardown stops it and checks that no process of its group is left behind.
"""

import pytest

from pipeline.bench.localhost import free_port, http_status
from pipeline.bench.turn.turn_server_process import TurnServerProcess

__all__ = ["free_port", "http_status", "turn_server"]

# Each test module that imports the fixture registers its own copy with pytest: keep one
# server for all of them (stop() is idempotent, so every copy's teardown may call it).
_server: TurnServerProcess | None = None


@pytest.fixture(scope="session")
def turn_server():
    global _server
    if _server is None:
        _server = TurnServerProcess(device="cpu")
        took = _server.start(progress=print)
        print(f"turn-server ready in {took:.1f} s")
    yield _server
    _server.stop()
    left = _server.group()
    assert not left, f"turn-server left processes behind: {[p.pid for p in left]}"
