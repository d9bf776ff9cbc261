"""The turn engine factory and the per-process registry of engines.

In: TurnSettings. Out: `build_engine` a new engine as the settings choose (`turn.engine: local`
the in-process batching engine, pipeline.turn.local_engine; `turn.engine: triton` the Triton
client with failover to an in-process CPU engine, pipeline.turn.failover); `shared_engine` the
process's one engine for those settings, built on first use and shared by every call.
"""

import atexit
import threading

from pipeline.settings import TurnSettings
from pipeline.turn.interface import TurnEngine
from pipeline.turn.local_engine import BatchingTurnEngine

_lock = threading.Lock()
_engines: dict[str, TurnEngine] = {}


def build_engine(settings: TurnSettings) -> TurnEngine:
    """A new engine as the settings choose: in-process (device auto: CUDA if present), or
    Triton at `triton_url` with the in-process CPU engine as its failover."""
    if settings.engine == "triton":
        return build_triton_engine(settings)
    return build_local_engine(settings)


def build_local_engine(settings: TurnSettings) -> BatchingTurnEngine:
    """A new in-process engine on the device the settings choose (auto: CUDA if present)."""
    from models.onnx_runner import default_threads
    from models.runner import create_runner, max_batch_for

    workers = settings.workers or default_threads()  # CPU default: one worker per core
    threads = settings.cpu_threads or max(1, default_threads() // workers)
    runner = create_runner(settings.device, settings.model_path, threads, settings.max_batch)
    return BatchingTurnEngine(
        runner,
        max_batch=max_batch_for(runner, settings.max_batch, settings.cpu_max_batch),
        max_wait_ms=settings.max_wait_ms,
        queue_size=settings.queue_size,
        deadline_ms=settings.deadline_ms,
        workers=workers if runner.device == "cpu" else 1,
    )


def build_triton_engine(settings: TurnSettings) -> TurnEngine:
    """The Triton client, failing over to an in-process CPU engine (`triton_failover: local`)
    or to the analyzer's fallback (`triton_failover: fallback`)."""
    from pipeline.turn.failover import FailoverTurnEngine
    from pipeline.turn.triton_engine import TritonTurnEngine

    probe_ms = round(settings.triton_probe_interval_s * 1000)
    timeout_ms = min(settings.triton_timeout_ms, settings.deadline_ms)
    primary = TritonTurnEngine(settings.triton_url, timeout_ms=timeout_ms, reconnect_ms=probe_ms)
    backup = None
    if settings.triton_failover == "local":
        backup = build_local_engine(settings.model_copy(update={"device": "cpu"}))
    return FailoverTurnEngine(
        primary,
        backup,
        deadline_ms=settings.deadline_ms,
        probe_interval_s=settings.triton_probe_interval_s,
    )


def shared_engine(settings: TurnSettings | None = None) -> TurnEngine:
    """The process-wide engine for these settings (default settings when None)."""
    settings = settings or TurnSettings()
    key = settings.model_dump_json()
    with _lock:
        if key not in _engines:
            _engines[key] = build_engine(settings)
        return _engines[key]


@atexit.register
def _close_all() -> None:
    """Let the workers finish before the interpreter tears down the model runtime."""
    for engine in _engines.values():
        engine.close()
