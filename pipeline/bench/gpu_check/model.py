"""The model on the device against the CPU fp32 reference, on the same CPU-kernel features.

In: the shared context (reference turns, their features and CPU fp32 probabilities) and the
tolerances. Out (into each step's record): max abs diff of the probabilities for the device's
fp32 model (TF32 off for that comparison, restored after), its fp16 model, and the runner's
whole path (packed int16 turns -> device features -> model in the runner's dtype).
"""

import contextlib
from collections.abc import Iterator

import numpy as np
import torch

from models.smart_turn_torch import SmartTurnTorch
from pipeline.bench.gpu_check.context import Context
from pipeline.bench.gpu_check.record import Skip, Step, check, progress


@contextlib.contextmanager
def tf32_off() -> Iterator[None]:
    matmul, cudnn = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul
        torch.backends.cudnn.allow_tf32 = cudnn


def _device_probabilities(
    ctx: Context, dtype: torch.dtype, features: np.ndarray, batch: int
) -> np.ndarray:
    model = SmartTurnTorch.from_onnx(ctx.model, device=ctx.device, dtype=dtype)
    out = []
    with torch.inference_mode():
        for start in range(0, len(features), batch):
            chunk = torch.from_numpy(features[start : start + batch]).to(ctx.torch_device)
            out.append(model(chunk.to(dtype)).float().cpu().numpy())
    return np.concatenate(out)


def _compare(record: Step, name: str, got: np.ndarray, want: np.ndarray, tolerance: float) -> None:
    diff = float(np.abs(got - want).max())
    record |= {
        "clips": len(want),
        "tolerance": tolerance,
        "max_abs_diff": diff,
        "reference_range": [float(want.min()), float(want.max())],
    }
    check(record, name, diff, tolerance)
    progress(name, f"{len(want)} clips: max abs diff {diff:.2e} (tolerance {tolerance:g})")


def check_fp32(record: Step, ctx: Context, tolerance: float) -> None:
    _, features, want = ctx.reference()
    with tf32_off():
        record["tf32"] = False
        got = _device_probabilities(ctx, torch.float32, features, batch=len(features))
    _compare(record, "fp32", got, want, tolerance)


def check_fp16(record: Step, ctx: Context, tolerance: float) -> None:
    _, features, want = ctx.reference()
    clips = ctx.sizes.fp16_clips
    try:
        got = _device_probabilities(ctx, torch.float16, features[:clips], batch=clips)
    except (RuntimeError, NotImplementedError) as exc:
        if ctx.device == "cpu":  # some CPU builds of torch lack float16 kernels
            raise Skip(f"torch on this CPU has no float16 kernels: {exc}") from exc
        raise
    _compare(record, "fp16", got, want[:clips], tolerance)


def check_runner_path(record: Step, ctx: Context, tolerance: float | None) -> None:
    turns, _, want = ctx.reference()
    runner = ctx.runner()
    if tolerance is None:
        tolerance = 1e-2 if runner.dtype == torch.float16 else 1e-4
    record["dtype"] = str(runner.dtype).removeprefix("torch.")
    got = np.concatenate(
        [
            runner.launch(turns[start : start + runner.max_batch]).result()
            for start in range(0, len(turns), runner.max_batch)
        ]
    )
    _compare(record, "runner path", got, want, tolerance)
