"""One level of `bench turn-engine`: a fresh engine, one load, its figures.

In: the command's arguments (runner, device, sizes, times), the turn settings (model path,
max_wait_ms, deadline_ms, cpu_threads), the mode ("closed" or "open") and the level (submitters
or offered turns/s). Out: a dict with clips_per_s, p50_ms, p99_ms, batch_sizes, mean_batch,
host_us_per_clip and the refused, expired and failed turns.
"""

import argparse

from models.runner import SmartTurnRunner
from pipeline.bench.report import percentile_ms
from pipeline.bench.turn_engine.load import run_load
from pipeline.bench.turn_engine.segments import mixed_segments
from pipeline.settings import TurnSettings
from pipeline.turn.local_engine import BatchingTurnEngine


def build_runner(name: str, device: str, settings: TurnSettings, max_batch: int) -> SmartTurnRunner:
    """host-only, or the real model: torch on `device`, or the int8 ONNX graph on the CPU."""
    if name == "host-only":
        from pipeline.bench.turn_engine.host_only_runner import HostOnlyRunner

        return HostOnlyRunner(max_batch)
    from models.smart_turn_file import locate

    path = locate(settings.model_path).path
    if name == "torch":
        from models.torch_runner import TorchRunner

        return TorchRunner(path, device=device, max_batch=max_batch)
    from models.onnx_runner import OnnxRunner

    return OnnxRunner(path, threads=settings.cpu_threads)


def measure_level(
    args: argparse.Namespace, settings: TurnSettings, mode: str, level: float
) -> dict:
    runner = build_runner(args.runner, args.device, settings, args.max_batch)
    engine = BatchingTurnEngine(
        runner,
        max_batch=args.max_batch,
        max_wait_ms=settings.max_wait_ms,
        queue_size=args.queue_size,
        deadline_ms=settings.deadline_ms,
    )
    try:
        engine.wait_ready()
        load = run_load(
            engine,
            mixed_segments(),
            concurrency=int(level) if mode == "closed" else 0,
            rate=level if mode == "open" else 0.0,
            loops=args.loops,
            seconds=args.seconds,
            warm_up_s=args.warm_up,
        )
    finally:
        engine.close()  # the workers' CPU time is summed as they stop
    clips = max(engine.clips, 1)
    return {
        "offered": level,
        "clips_per_s": len(load.latencies) / load.window_s,
        "p50_ms": percentile_ms(load.latencies, 50),
        "p99_ms": percentile_ms(load.latencies, 99),
        "batch_sizes": dict(sorted(engine.batch_sizes.items())),
        "mean_batch": engine.clips / max(engine.batches, 1),
        "host_us_per_clip": engine.worker_cpu_s / clips * 1e6,
        "refused": load.refused,
        "expired": load.expired,
        "errors": load.errors,
    }
