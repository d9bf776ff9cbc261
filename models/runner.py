"""What every Smart Turn runner offers, and how the engine picks one for a device.

A runner turns a batch of prepared clips (float32 [B, 128000], 16 kHz, see
pipeline.turn.clip) into end-of-turn probabilities (float32 [B]), computing the log-mel
features on its own device. It is called from one thread only: the engine's worker.
"""

from pathlib import Path
from typing import Literal, Protocol

import numpy as np

Device = Literal["auto", "cpu", "cuda"]


class SmartTurnRunner(Protocol):
    device: str  # "cpu" or "cuda"

    def score(self, clips: np.ndarray) -> np.ndarray:
        """float32 [B, 128000] → float32 [B] probabilities that the turn is complete."""
        ...


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def create_runner(
    device: Device = "auto", model_path: str | Path | None = None, cpu_threads: int | None = None
) -> SmartTurnRunner:
    """CUDA (torch) when asked for or, with "auto", when a GPU is present; else ONNX on CPU."""
    from models.smart_turn_file import locate

    model = locate(model_path)
    if device == "cuda" or (device == "auto" and cuda_available()):
        if not cuda_available():
            raise RuntimeError(
                "turn device 'cuda' was requested but torch sees no CUDA GPU: install the "
                "torch extra on a GPU machine, or set SWITCHBOARD_TURN__DEVICE=cpu"
            )
        from models.torch_runner import TorchRunner

        return TorchRunner(model.path, device="cuda")
    from models.onnx_runner import OnnxRunner

    return OnnxRunner(model.path, threads=cpu_threads)
