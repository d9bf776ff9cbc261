"""Test audio that is made, never committed: piper speech and the beckett.wav human recording."""

from importlib.resources import files

import numpy as np

from pipeline.callers.voice import CALL_CENTER_SENTENCES, synthesize
from pipeline.wav import read_wav, write_wav

__all__ = ["BECKETT_TEXT", "CALL_CENTER_SENTENCES", "beckett", "silence", "synthesize"]
__all__ += ["write_wav"]


def silence(seconds: float, sample_rate: int = 16000) -> np.ndarray:
    return np.zeros(int(seconds * sample_rate), dtype=np.int16)


BECKETT_TEXT = "Ever tried. Ever failed. No matter. Try again. Fail again. Fail better."


def beckett() -> tuple[np.ndarray, int]:
    """The human recording shipped in useful-moonshine-onnx: (int16 samples, 16000)."""
    return read_wav(files("moonshine_onnx").joinpath("assets", "beckett.wav"))


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus WER with case and punctuation ignored (jiwer)."""
    import jiwer

    normalize = jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.RemovePunctuation(),
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
            jiwer.ReduceToListOfListOfWords(),
        ]
    )
    return jiwer.wer(
        list(references),
        list(hypotheses),
        reference_transform=normalize,
        hypothesis_transform=normalize,
    )
