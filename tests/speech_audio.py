"""Test audio that is made, never committed: piper speech and the beckett.wav human recording."""

from importlib.resources import files

import numpy as np

from pipeline.bench.caller_audio import synthesize
from pipeline.wav import read_wav, write_wav

__all__ = ["BECKETT_TEXT", "beckett", "silence", "synthesize", "write_wav"]


def silence(seconds: float, sample_rate: int = 16000) -> np.ndarray:
    return np.zeros(int(seconds * sample_rate), dtype=np.int16)


BECKETT_TEXT = "Ever tried. Ever failed. No matter. Try again. Fail again. Fail better."


def beckett() -> tuple[np.ndarray, int]:
    """The human recording shipped in useful-moonshine-onnx: (int16 samples, 16000)."""
    return read_wav(files("moonshine_onnx").joinpath("assets", "beckett.wav"))
