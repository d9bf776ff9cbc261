"""The engine under load: closed-loop submitters and open-loop offered rates.

In: the shared context (its warmed-up engine), the levels and times of `Sizes`, a deadline.
Out (into the step's record): per level the completed clips/s over the measured window, p50
and p99 milliseconds from submit (or, open loop, from when the turn was due) to answer, the
mean batch, and the refused, expired and failed turns; pipeline/bench/turn_engine/load.py
drives the load. A level that would end past the deadline is "not measured".
"""

import time

import numpy as np

from pipeline.bench.gpu_check.context import Context
from pipeline.bench.gpu_check.record import Step, progress
from pipeline.bench.turn_engine.load import DRAIN_S, run_load
from pipeline.bench.turn_engine.segments import mixed_segments


def percentile_ms(latencies: list[float], q: float) -> float | None:
    return round(float(np.percentile(latencies, q)) * 1000, 3) if latencies else None


def time_load(record: Step, ctx: Context, deadline: float) -> None:
    sizes = ctx.sizes
    engine = ctx.engine()
    turns = mixed_segments()
    levels = [("closed", float(n)) for n in sizes.closed_levels]
    levels += [("open", rate) for rate in sizes.open_levels]
    rows = []
    for mode, level in levels:
        row: dict = {"mode": mode, "level": level}
        rows.append(row)
        needed = sizes.load_warm_up_s + sizes.load_seconds + (DRAIN_S if mode == "open" else 1)
        if time.monotonic() + needed > deadline:
            row["status"] = "not measured: out of time"
            progress("load", f"{mode} {level:g}: not measured (out of time)")
            continue
        clips, batches = engine.clips, engine.batches
        load = run_load(
            engine,
            turns,
            concurrency=int(level) if mode == "closed" else 0,
            rate=level if mode == "open" else 0.0,
            loops=sizes.loops,
            seconds=sizes.load_seconds,
            warm_up_s=sizes.load_warm_up_s,
        )
        batches = engine.batches - batches
        row |= {
            "status": "measured",
            "window_s": load.window_s,
            "completed": len(load.latencies),
            "clips_per_s": round(len(load.latencies) / load.window_s, 1),
            "p50_ms": percentile_ms(load.latencies, 50),
            "p99_ms": percentile_ms(load.latencies, 99),
            "mean_batch": round((engine.clips - clips) / batches, 1) if batches else None,
            "refused": load.refused,
            "expired": load.expired,
            "errors": load.errors,
        }
        progress(
            "load",
            f"{mode} {level:g}: {row['clips_per_s']} clips/s, "
            f"p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms",
        )
    record["levels"] = rows
    record["max_batch"] = ctx.max_batch
    record["loops"] = sizes.loops
