"""A `switchboard turn-server` child process, for `bench turn` and the tests that need one.

`TurnServerProcess(device="cpu").start()` launches the command on free local ports in its own
process group (our python, tritonserver, the Python-backend stub and its helpers), waits until
`smart_turn` is ready, and returns the seconds it took. `stop()` asks it to stop (SIGTERM, as
Kubernetes does), kills the group if anything lingers, and removes its work directory (logs,
PyTriton's workspace); `kill()` SIGKILLs the whole group at once, as a crashed node would.
`metrics()` reads Triton's own counters, `batch_sizes()` the batches its dynamic batcher
formed, `rss_mb()` the memory of the whole group.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from models import triton_contract as contract
from pipeline.bench.localhost import free_port, http_status

START_TIMEOUT_S = 180


@dataclass
class TurnServerProcess:
    device: str = "cpu"
    extra_args: list[str] = field(default_factory=list)  # e.g. ["--max-batch", "64"]
    env: dict[str, str] = field(default_factory=dict)  # e.g. SWITCHBOARD_TURN__* settings
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

    def start(self, progress: Callable[[str], None] | None = None) -> float:
        """Start and wait until `smart_turn` is ready; returns seconds. `progress` hears each
        change of the readiness answer. RuntimeError (with the log's tail) when it exits or
        is not ready within START_TIMEOUT_S."""
        self.starts += 1
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pipeline.cli", "turn-server", "--host", "127.0.0.1"]
        command += ["--grpc-port", str(self.grpc_port), "--http-port", str(self.http_port)]
        command += ["--metrics-port", str(self.metrics_port), "--device", self.device]
        # PyTriton's workspace (a copy of tritonserver) goes here, not into the home cache.
        env = os.environ | self.env | {"PYTRITON_HOME": str(self.workdir / "pytriton")}
        with self.log_path.open("wb") as out:
            self.process = subprocess.Popen(
                [*command, *self.extra_args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started = time.monotonic()
        ready = f"http://127.0.0.1:{self.http_port}/v2/models/{contract.MODEL_NAME}/ready"
        seen: int | None | str = "started"
        while (status := http_status(ready)) != 200:
            if progress and status != seen:
                what = "not listening yet" if status is None else f"HTTP {status}: loading"
                progress(f"turn-server {what} ({time.monotonic() - started:.1f} s)")
                seen = status
            if self.process.poll() is not None or time.monotonic() - started > START_TIMEOUT_S:
                tail = self.log_tail()
                self.stop()
                raise RuntimeError(f"turn-server did not become ready:\n{tail}")
            time.sleep(0.2)
        return time.monotonic() - started

    def group(self) -> list[psutil.Process]:
        """Every live process of the server's process group."""
        if self.process is None:
            return []
        found = []
        for proc in psutil.process_iter():
            with contextlib.suppress(ProcessLookupError, psutil.Error):
                if os.getpgid(proc.pid) == self.process.pid and proc.status() != "zombie":
                    found.append(proc)
        return found

    def kill(self) -> None:
        """SIGKILL the whole group at once and wait until it is gone."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._wait_gone(10)

    def stop(self, timeout: float = 40) -> None:
        """SIGTERM (Triton drains and cleans its workspace), then SIGKILL what lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        if self.group():
            self.kill()
        self.process.wait(timeout=10)
        # Its logs, and PyTriton's workspace (a copy of tritonserver) that a killed server
        # leaves behind.
        shutil.rmtree(self.workdir, ignore_errors=True)

    def metrics(self) -> dict[str, float]:
        """Triton's counters for smart_turn by family name, e.g. nv_inference_count."""
        from prometheus_client.parser import text_string_to_metric_families

        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        values: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                labels = sample.labels
                if labels.get("model") == contract.MODEL_NAME and "reason" not in labels:
                    values[family.name] = sample.value
        return values

    def batch_sizes(self) -> dict[int, int]:
        """Model executions by batch size since start (Triton's statistics extension)."""
        return batch_sizes(self.url)

    def rss_mb(self) -> float:
        total = 0
        for proc in self.group():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total / 2**20

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _wait_gone(self, timeout: float) -> None:
        until = time.monotonic() + timeout
        while self.group() and time.monotonic() < until:
            time.sleep(0.1)


def batch_sizes(url: str) -> dict[int, int]:
    """Executions of smart_turn by batch size at the Triton at `url` (gRPC host:port)."""
    import tritonclient.grpc as triton_grpc

    with triton_grpc.InferenceServerClient(url) as client:
        stats = client.get_inference_statistics(contract.MODEL_NAME)
    return {
        int(b.batch_size): int(b.compute_infer.count)
        for model in stats.model_stats
        for b in model.batch_stats
    }


BATCH_STAGES = ("compute_input", "compute_infer", "compute_output")


def stage_totals(url: str) -> dict[str, int]:
    """smart_turn's cumulative time per execution stage (ns, summed over the batches Triton
    ran), its executions, and its requests' time in the queue (ns) and count."""
    import tritonclient.grpc as triton_grpc

    with triton_grpc.InferenceServerClient(url) as client:
        stats = client.get_inference_statistics(contract.MODEL_NAME)
    totals = dict.fromkeys((*BATCH_STAGES, "executions", "queue", "requests"), 0)
    for model in stats.model_stats:
        for batch in model.batch_stats:
            for stage in BATCH_STAGES:
                totals[stage] += int(getattr(batch, stage).ns)
            totals["executions"] += int(batch.compute_infer.count)
        totals["queue"] += int(model.inference_stats.queue.ns)
        totals["requests"] += int(model.inference_stats.success.count)
    return totals
