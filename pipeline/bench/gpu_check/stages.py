"""Timing of the device part: per stage at several batch sizes, and forward-only clips/s.

In: the shared context and sizes. Out (into each step's record): for each batch size the
median milliseconds of host packing (host clock), the host-to-device copy, the features
(front_padded_clips + LogMel), the model forward (runner dtype) and the copy back, timed with
CUDA events (the host clock on a CPU); and the runner's device part (`_run`: clips, features,
model) replayed back to back, with and without CUDA graphs, as clips/s. Each loop stops after
its time cap.
"""

import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from models.clip import CLIP_SAMPLES
from models.packed_batch import pack
from models.smart_turn_torch import SmartTurnTorch
from models.torch_features import LogMel, front_padded_clips
from models.torch_runner import TorchRunner
from pipeline.bench.gpu_check.context import Context
from pipeline.bench.gpu_check.record import Skip, Step, progress
from pipeline.bench.turn_engine.segments import mixed_segments

STAGES = ("h2d", "features", "forward", "d2h")
MAX_REPS = 50


class Marks:
    """Points in a device stream's time: CUDA events, or the host clock on a CPU."""

    def __init__(self, device: torch.device, count: int) -> None:
        self.cuda = device.type == "cuda"
        self.events = (
            [torch.cuda.Event(enable_timing=True) for _ in range(count)] if self.cuda else []
        )
        self.times = [0.0] * count

    def mark(self, i: int) -> None:
        if self.cuda:
            self.events[i].record()
        else:
            self.times[i] = time.perf_counter()

    def ms(self, i: int, j: int) -> float:
        """Milliseconds from mark i to mark j (synchronizes on a GPU)."""
        if self.cuda:
            self.events[j].synchronize()
            return self.events[i].elapsed_time(self.events[j])
        return (self.times[j] - self.times[i]) * 1000


def _turns(count: int) -> list[np.ndarray]:
    base = mixed_segments(min(count, 256))
    return [base[i % len(base)] for i in range(count)]


def time_stages(record: Step, ctx: Context, deadline: float) -> None:
    device, dtype = ctx.torch_device, ctx.runner().dtype
    model = SmartTurnTorch.from_onnx(ctx.model, device=ctx.device, dtype=dtype)
    log_mel = LogMel().to(device)
    cuda = device.type == "cuda"
    rows = {}
    for batch in ctx.sizes.stage_batches:
        if time.monotonic() > deadline:
            rows[str(batch)] = "not measured: out of time"
            continue
        turns = _turns(batch)
        header = (batch + 1) * 8
        host = torch.zeros(header + batch * CLIP_SAMPLES * 2, dtype=torch.uint8, pin_memory=cuda)
        raw = host.numpy()
        offsets, samples = raw[:header].view(np.int64), raw[header:].view(np.int16)
        on_device = torch.zeros_like(host, device=device)
        back = torch.empty(batch, dtype=torch.float32, pin_memory=cuda)
        runs: dict[str, list[float]] = {name: [] for name in ("pack", *STAGES)}
        until = min(deadline, time.monotonic() + ctx.sizes.stage_seconds)
        for rep in range(MAX_REPS + 1):
            marks = Marks(device, 5)
            packed = time.perf_counter()
            size = header + 2 * pack(turns, samples, offsets)
            packed = (time.perf_counter() - packed) * 1000
            with torch.inference_mode():
                marks.mark(0)
                on_device[:size].copy_(host[:size], non_blocking=True)
                marks.mark(1)
                bounds = on_device[:header].view(torch.int64)
                clips = front_padded_clips(on_device[header:].view(torch.int16), bounds)
                features = log_mel(clips)
                marks.mark(2)
                probabilities = model(features.to(dtype)).float()
                marks.mark(3)
                back.copy_(probabilities, non_blocking=True)
                marks.mark(4)
            spans = [marks.ms(i, i + 1) for i in range(4)]
            if rep > 0:  # the first run pays for cuFFT plans, cuBLAS handles, the allocator
                runs["pack"].append(packed)
                for name, ms in zip(STAGES, spans, strict=True):
                    runs[name].append(ms)
            if rep > 0 and time.monotonic() > until:
                break
        medians = {f"{k}_ms": round(statistics.median(v), 4) for k, v in runs.items() if v}
        device_ms = sum(medians[f"{name}_ms"] for name in STAGES)
        rows[str(batch)] = medians | {
            "reps": len(runs["h2d"]),
            "device_ms": round(device_ms, 4),
            "clips_per_s": round(batch / device_ms * 1000, 1),
        }
        progress("stages", f"batch {batch:>4}: {rows[str(batch)]}")
        del on_device, features, clips, probabilities
    record["batches"] = rows
    record["clock"] = "cuda events" if cuda else "host clock (perf_counter)"


def _replay_rate(run: Callable[[], object], device: torch.device, batch: int, until: float) -> dict:
    """Clips/s of `run` (one batch) called back to back until `until`, after one warm call."""
    marks = Marks(device, 2)
    with torch.inference_mode():
        run()
        reps = 0
        marks.mark(0)
        while reps < 1000 and (reps < 1 or time.monotonic() < until):
            run()
            reps += 1
            if device.type == "cuda" and reps % 20 == 0:
                torch.cuda.current_stream().synchronize()  # keep the host's clock honest
        marks.mark(1)
        ms = marks.ms(0, 1)
    return {
        "reps": reps,
        "ms_per_batch": round(ms / reps, 4),
        "clips_per_s": round(batch * reps / ms * 1000, 1),
    }


def time_forward(record: Step, ctx: Context, deadline: float) -> None:
    batch = ctx.sizes.forward_batch
    turns = _turns(batch)
    variants: dict[str, TorchRunner] = {}
    runner = ctx.runner()
    variants["graphs" if runner.graphs else "eager"] = runner
    if ctx.device == "cuda":
        other = TorchRunner(
            ctx.model,
            device=ctx.device,
            dtype=runner.dtype,
            max_batch=batch,
            graphs=not runner.graphs,
        )
        variants["graphs" if other.graphs else "eager"] = other
    else:
        record["graphs"] = "not measured: CUDA graphs need a GPU"
    record["batch"] = batch
    record["dtype"] = str(runner.dtype).removeprefix("torch.")
    for name, variant in sorted(variants.items()):
        run = getattr(variant, "_run", None)
        if run is None:
            raise Skip("TorchRunner has no _run(rows) any more: update stages.time_forward")
        variant.launch(turns).result()  # the device buffers hold this batch; graph captured
        until = min(deadline, time.monotonic() + ctx.sizes.forward_seconds)
        record[name] = _replay_rate(lambda v=variant: v._run(batch), ctx.torch_device, batch, until)
        progress("forward", f"{name} batch {batch}: {record[name]}")
