"""What each device runs: the full sizes on a GPU, small ones on a CPU (a rehearsal in CI).

In: the device ("cuda" or "cpu") and the runner's max_batch. Out: a `Sizes` of batch sizes,
counts, load levels and per-loop time caps. On a 2-core CPU the 8M-parameter model costs
0.3-0.5 s a clip, so every model step there runs a handful of clips.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    budget_s: float  # the whole run; timing steps stop early or skip past it
    feature_batches: tuple[int, ...]
    model_clips: int  # fp32 / fp16 / runner path against the CPU reference
    fp16_clips: int
    engine_submits: int
    engine_threads: int
    stage_batches: tuple[int, ...]
    stage_seconds: float  # per batch size
    forward_batch: int
    forward_seconds: float  # per variant (graphs on, graphs off)
    closed_levels: tuple[int, ...]  # submitters
    open_levels: tuple[float, ...]  # offered clips/s
    load_seconds: float
    load_warm_up_s: float
    loops: int  # event loops the load runs on
    deadline_ms: float  # the engine's; a CPU batch of a few clips takes seconds


def sizes_for(device: str, max_batch: int) -> Sizes:
    if device == "cuda":
        stage = (1, 32, 256, 1024)
        return Sizes(
            budget_s=270.0,
            feature_batches=(1, 7, 256),
            model_clips=16,
            fp16_clips=16,
            engine_submits=4096,
            engine_threads=8,
            stage_batches=tuple(b for b in stage if b <= max(max_batch, 256)),
            stage_seconds=1.0,
            forward_batch=min(256, max_batch),
            forward_seconds=2.0,
            closed_levels=(32, 256, 1024, 4096),
            open_levels=(5000.0, 10000.0, 20000.0),
            load_seconds=4.0,
            load_warm_up_s=1.0,
            loops=4,
            deadline_ms=1500.0,
        )
    return Sizes(
        budget_s=150.0,
        feature_batches=(1, 4, 7),
        model_clips=2,
        fp16_clips=1,
        engine_submits=8,
        engine_threads=4,
        stage_batches=(1, 2),
        stage_seconds=0.5,
        forward_batch=min(2, max_batch),
        forward_seconds=0.5,
        closed_levels=(1, 2),
        open_levels=(1.0, 2.0),
        load_seconds=1.5,
        load_warm_up_s=0.3,
        loops=2,
        deadline_ms=60000.0,
    )
