"""The batching engine against direct scoring: every caller gets its own turn's answer.

In: the shared context (runner and engine), a number of submits, submitting threads, a
tolerance and a time limit. Out (into the step's record): how many answers came back, failed
or are missing, the batch sizes the engine made, and the max abs diff between each answer and
the runner's `launch` of the same turns in order (batches differ, so fp16 rounding may too).
The spread of the direct answers says whether a misrouted answer could hide in the tolerance.
"""

import threading
import time
from collections import Counter
from concurrent.futures import Future, wait

import numpy as np
import torch

from models.clip import MODEL_SAMPLE_RATE
from pipeline.bench.gpu_check.cases import varied_segments
from pipeline.bench.gpu_check.context import Context
from pipeline.bench.gpu_check.record import Step, check, progress


def check_engine(record: Step, ctx: Context, tolerance: float | None, until: float) -> None:
    runner = ctx.runner()
    if tolerance is None:
        tolerance = 5e-3 if runner.dtype == torch.float16 else 1e-4
    submits, threads = ctx.sizes.engine_submits, ctx.sizes.engine_threads
    turns = varied_segments(submits, seed=11)
    progress("engine", f"{submits} turns built; warming the engine up")
    engine = ctx.engine()
    before = Counter(engine.batch_sizes)
    futures: list[Future | None] = [None] * submits
    refused: list[str] = []

    def submitter(first: int) -> None:
        for i in range(first, submits, threads):
            try:
                futures[i] = engine.submit_nowait(turns[i], MODEL_SAMPLE_RATE)
            except Exception as exc:  # noqa: BLE001 - counted below
                refused.append(f"{type(exc).__name__}: {exc}")

    started = time.monotonic()
    workers = [threading.Thread(target=submitter, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    issued = [f for f in futures if f is not None]
    _, not_done = wait(issued, timeout=max(1.0, until - time.monotonic()))
    wall = time.monotonic() - started
    answers = np.full(submits, np.nan)
    errors = []
    for i, future in enumerate(futures):
        if future is None or not future.done():
            continue
        if future.exception() is not None:
            errors.append(f"{type(future.exception()).__name__}: {future.exception()}")
        else:
            answers[i] = future.result()
    progress("engine", f"{submits} submits answered in {wall:.2f}s; scoring directly")
    direct = np.concatenate(
        [
            runner.launch(turns[s : s + runner.max_batch]).result()
            for s in range(0, submits, runner.max_batch)
        ]
    )
    answered = ~np.isnan(answers)
    diff = float(np.abs(answers[answered] - direct[answered]).max()) if answered.any() else np.nan
    sizes = Counter(engine.batch_sizes)
    sizes.subtract(before)
    record |= {
        "submits": submits,
        "threads": threads,
        "answered": int(answered.sum()),
        "refused": len(refused),
        "errors": len(errors),
        "missing": len(not_done),
        "first_error": (refused + errors)[:1],
        "wall_s": round(wall, 3),
        "batch_sizes": {str(k): v for k, v in sorted(sizes.items()) if v},
        "tolerance": tolerance,
        "max_abs_diff": diff,
        "direct_spread": [float(direct.min()), float(direct.max()), float(direct.std())],
    }
    check(record, "unanswered", float(submits - answered.sum()), 0)
    check(record, "max abs diff", diff, tolerance)
    progress("engine", f"answered {int(answered.sum())}/{submits}, max abs diff {diff:.2e}")
