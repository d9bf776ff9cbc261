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


# Call-center sentences for speech round trips (no digits: Whisper may write "5" for "five").
CALL_CENTER_SENTENCES = (
    "Thank you for calling customer support, how can I help you today?",
    "I would like to check the status of my order please.",
    "Your payment has been received and your account is up to date.",
    "Please hold while I transfer you to the billing department.",
    "Can you confirm the email address on your account?",
    "I am sorry for the inconvenience, let me fix that for you right away.",
)


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
