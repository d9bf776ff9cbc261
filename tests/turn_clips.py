"""Turn clips for tests (piper speech, the beckett recording, 8 kHz telephone copies) and
stock Pipecat's probability for them, computed exactly the way Pipecat's analyzer does."""

import functools

import numpy as np
import soxr
from speech_audio import beckett, silence, synthesize

COMPLETE = ["I would like to cancel my order, please.", "Yes, that is correct."]
INCOMPLETE = ["My order number is", "I need to change the address and"]


@functools.cache
def turn_clips() -> dict[str, tuple[np.ndarray, int]]:
    """name → (int16 audio, sample rate): complete and cut-off turns, at 16 kHz and 8 kHz."""
    clips: dict[str, tuple[np.ndarray, int]] = {}
    for i, text in enumerate(COMPLETE + INCOMPLETE):
        audio = np.concatenate([synthesize(text, 16000), silence(0.2)])
        clips[f"piper{i}_16k"] = (audio, 16000)
        clips[f"piper{i}_8k"] = (synthesize(text, 8000), 8000)
    human, rate = beckett()
    clips["beckett_16k"] = (human, rate)  # 10 s: longer than the 8 s window
    clips["beckett_half_8k"] = (_to_8k(human[: len(human) // 2], rate), 8000)
    return clips


def _to_8k(audio: np.ndarray, rate: int) -> np.ndarray:
    resampled = soxr.resample(audio.astype(np.float32) / 32768, rate, 8000, quality="HQ")
    return (np.clip(resampled, -1, 1) * 32767).astype(np.int16)


@functools.cache
def _stock_analyzer(sample_rate: int):
    from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3

    analyzer = LocalSmartTurnAnalyzerV3()
    analyzer.set_sample_rate(sample_rate)
    return analyzer


def stock_probability(audio: np.ndarray, sample_rate: int, max_seconds: float = 8.0) -> float:
    """Stock Pipecat 1.14's probability for one whole turn (its analyzer's own steps)."""
    segment = audio.astype(np.float32) / 32768.0
    segment = segment[-int(max_seconds * sample_rate) :]
    return _stock_analyzer(sample_rate)._predict_endpoint(segment)["probability"]
