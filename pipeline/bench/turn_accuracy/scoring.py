"""Scores labelled clips with each Smart Turn variant, in batches, and times it.

In: the clips' 16 kHz int16 audio, the model file, the torch device and a batch size.
Out: per model ("int8", "fp32", "fp16") the probabilities in clip order, the seconds it took,
and how it was run.

- int8: the bundled graph on ONNX Runtime with Pipecat's own float64 features (OnnxRunner),
  each clip built by prepare_clip (Pipecat's trimming and padding): stock Pipecat's answer.
- fp32: the torch module (TorchRunner) on the CPU in float32.
- fp16: the torch module in float16 on `device` (TorchRunner's features stay float32).
A clip counts as "complete" when its probability is > 0.5, Pipecat's rule.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models.clip import prepare_clip
from models.onnx_runner import OnnxRunner
from models.torch_runner import TorchRunner

MODELS = ("int8", "fp32", "fp16")
THRESHOLD = 0.5  # Pipecat: prediction = 1 if probability > 0.5


@dataclass(frozen=True)
class ModelRun:
    probabilities: np.ndarray  # float32, one per clip
    seconds: float  # wall time of the scoring (features and model), model load excluded
    how: dict  # runner, device, dtype


def _runner(model: str, model_path: Path, device: str, batch: int) -> tuple[object, dict]:
    if model == "int8":
        runner = OnnxRunner(model_path)
        how = {"runner": "onnx", "device": "cpu", "dtype": "int8", "threads": runner.threads}
        return runner, how
    dtype, on = (torch.float32, "cpu") if model == "fp32" else (torch.float16, device)
    runner = TorchRunner(model_path, device=on, dtype=dtype, max_batch=batch, graphs=False)
    return runner, {"runner": "torch", "device": on, "dtype": str(dtype).removeprefix("torch.")}


def score_clips(
    audio: Sequence[np.ndarray],
    model: str,
    model_path: Path,
    device: str = "cpu",
    batch: int = 16,
    progress: Callable[[str], object] = print,
) -> ModelRun:
    """Probabilities for every clip (16 kHz int16) from one model, `batch` clips at a time."""
    runner, how = _runner(model, model_path, device, batch)
    out, started = [], time.perf_counter()
    for i in range(0, len(audio), batch):
        progress(f"{model}: clips {i + 1}-{min(i + batch, len(audio))} of {len(audio)}")
        clips = np.stack([prepare_clip(a, 16000) for a in audio[i : i + batch]])
        out.append(np.asarray(runner.score(clips), dtype=np.float32))
    seconds = time.perf_counter() - started
    probabilities = np.concatenate(out) if out else np.zeros(0, np.float32)
    return ModelRun(probabilities, seconds, how)
