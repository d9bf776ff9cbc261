"""A live `switchboard turn-server` (Smart Turn on Triton, CPU) for tests: one per session.

The server runs as a subprocess in its own process group (our python, tritonserver, the
Python-backend stub and its helpers), so `kill()` can take all of it down at once, as a node
failure would, and `start()` brings it back on the same ports. Teardown stops it cleanly and
checks that no process of the group is left.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """HTTP status of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@dataclass
class TurnServer:
    grpc_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="turn-server-")))
    process: subprocess.Popen | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"turn-server-{self.starts}.log"

    def start(self) -> float:
        """Start the server and wait until `smart_turn` is ready; returns the seconds taken."""
        self.starts += 1
        command = [sys.executable, "-m", "pipeline.cli", "turn-server", "--host", "127.0.0.1"]
        command += ["--grpc-port", str(self.grpc_port), "--http-port", str(self.http_port)]
        command += ["--metrics-port", str(self.metrics_port), "--device", "cpu"]
        env = os.environ | {"PYTRITON_HOME": str(self.workdir / "pytriton")}
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=out, stderr=out, start_new_session=True
            )
        started = time.monotonic()
        ready = f"http://127.0.0.1:{self.http_port}/v2/models/smart_turn/ready"
        seen: list[object] = []  # progress: the readiness answers seen while it started
        while (status := http_status(ready)) != 200:
            if not seen or seen[-1] != status:
                seen.append(status)
            if self.process.poll() is not None or time.monotonic() - started > START_TIMEOUT_S:
                self.stop()
                raise RuntimeError(f"turn-server not ready (saw {seen}):\n{self.log_tail()}")
            time.sleep(0.2)
        took = time.monotonic() - started
        print(f"turn-server ready in {took:.1f} s (readiness seen: {seen} then 200)")
        return took

    def group(self) -> list[psutil.Process]:
        """Every live process of the server's process group."""
        if self.process is None:
            return []
        pgid = self.process.pid
        found = []
        for proc in psutil.process_iter(["pid", "status"]):
            try:
                if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
            except (ProcessLookupError, psutil.Error):
                continue
        return found

    def kill(self) -> None:
        """SIGKILL the whole group at once (a crashed pod) and reap the leader."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        _wait_gone(self.group, 10)

    def stop(self) -> None:
        """SIGTERM (as Kubernetes does), then SIGKILL the group if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=40)
        if self.group():
            os.killpg(self.process.pid, signal.SIGKILL)
            _wait_gone(self.group, 10)
        self.process.wait(timeout=10)

    def metrics(self) -> dict[str, float]:
        """Triton's own counters for smart_turn from the metrics port, e.g. nv_inference_count."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        values: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.labels.get("model") == "smart_turn" and "reason" not in sample.labels:
                    values[family.name] = sample.value  # the name without "_total"
        return values

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _wait_gone(group, timeout: float) -> None:
    until = time.monotonic() + timeout
    while group() and time.monotonic() < until:
        time.sleep(0.1)


@pytest.fixture(scope="session")
def turn_server():
    server = TurnServer()
    server.start()
    yield server
    server.stop()
    left = server.group()
    assert not left, f"turn-server left processes behind: {[p.info for p in left]}"
