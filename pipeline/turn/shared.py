"""One turn engine per process: built on first use from the settings, then shared by all calls."""

import atexit
import threading

from pipeline.settings import TurnSettings
from pipeline.turn.engine import BatchingTurnEngine

_lock = threading.Lock()
_engines: dict[str, BatchingTurnEngine] = {}


def build_engine(settings: TurnSettings) -> BatchingTurnEngine:
    """A new in-process engine on the device the settings choose (auto: CUDA if present)."""
    from models.runner import create_runner

    runner = create_runner(settings.device, settings.model_path, settings.cpu_threads)
    return BatchingTurnEngine(
        runner,
        max_batch=settings.max_batch,
        max_wait_ms=settings.max_wait_ms,
        queue_size=settings.queue_size,
        deadline_ms=settings.deadline_ms,
    )


def shared_engine(settings: TurnSettings | None = None) -> BatchingTurnEngine:
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
