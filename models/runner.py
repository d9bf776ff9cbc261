"""What every Smart Turn runner offers, how one is picked for a device, warmed up and batched.

A runner turns a batch of turns into end-of-turn probabilities (float32 [B]), computing the
log-mel features on its own device. `launch` takes the turns as unpadded 16 kHz segments
(models.clip.turn_segment) and returns a `Pending` (models.packed_batch), so that a GPU runner
can run one batch while the engine packs the next; `score` takes prepared clips (float32
[B, 128000], models.clip.prepare_clip) and blocks.
`create_runner` picks one (CUDA torch or CPU ONNX), `warm_up` runs it once before the first
request, and `max_batch_for` caps the batch on a CPU. Every Smart Turn server uses these: the
in-process engine, `switchboard turn-server` and the NGC model repository.
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from models.clip import CLIP_SAMPLES, MODEL_SAMPLE_RATE
from models.packed_batch import Pending

Device = Literal["auto", "cpu", "cuda"]


class SmartTurnRunner(Protocol):
    device: str  # "cpu" or "cuda"

    def score(self, clips: np.ndarray) -> np.ndarray:
        """float32 [B, 128000] → float32 [B] probabilities that the turn is complete."""
        ...

    def launch(self, segments: Sequence[np.ndarray]) -> Pending:
        """Start scoring B turn segments (each at most 128000 samples at 16 kHz, int16 or
        float32); the Pending's result() is their probabilities float32 [B]."""
        ...


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def create_runner(
    device: Device = "auto",
    model_path: str | Path | None = None,
    cpu_threads: int | None = None,
    max_batch: int = 256,
) -> SmartTurnRunner:
    """CUDA (torch, batches up to `max_batch`) when asked for or, with "auto", when a GPU is
    present; else ONNX on CPU."""
    from models.smart_turn_file import locate

    model = locate(model_path)
    if device == "cuda" or (device == "auto" and cuda_available()):
        if not cuda_available():
            raise RuntimeError(
                "turn device 'cuda' was requested but torch sees no CUDA GPU: install the "
                "torch extra on a GPU machine, or set SWITCHBOARD_TURN__DEVICE=cpu"
            )
        from models.torch_runner import TorchRunner

        return TorchRunner(model.path, device="cuda", max_batch=max_batch)
    from models.onnx_runner import OnnxRunner

    return OnnxRunner(model.path, threads=cpu_threads)


def warm_up(runner: SmartTurnRunner) -> None:
    """Run one silent turn through `score` and through `launch`, and capture a GPU runner's
    CUDA graphs (its `warm()`), so compilation and lazy allocations happen before requests."""
    runner.score(np.zeros((1, CLIP_SAMPLES), dtype=np.float32))
    runner.launch([np.zeros(MODEL_SAMPLE_RATE, dtype=np.int16)]).result()
    warm = getattr(runner, "warm", None)  # only runners with something to capture have it
    if warm is not None:
        warm()


def max_batch_for(runner: SmartTurnRunner, max_batch: int, cpu_max_batch: int) -> int:
    """The largest batch to give `runner`: `max_batch`, capped at `cpu_max_batch` on a CPU
    (the int8 model gains nothing from big batches there; each clip costs ~30 MB)."""
    return min(max_batch, cpu_max_batch) if runner.device == "cpu" else max_batch
