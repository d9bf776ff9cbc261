"""Synthesized sentences start with speech: piper's leading near-silence is cut to a few ms.

The real piper voice; the raw audio is piper's own for the same text (sampling noise off)."""

import functools

import numpy as np
import pytest
from piper.config import SynthesisConfig
from speech_audio import CALL_CENTER_SENTENCES

from pipeline.speech.tts_engine import LEAD_IN_S, SOUND_LEVEL, PiperEngine, trim_leading_silence

REPEATABLE = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
TEXTS = (*CALL_CENTER_SENTENCES[:6], "Sure.", "Okay, one moment please.")


@functools.cache
def engine() -> PiperEngine:
    return PiperEngine("English-US.Male-Joe")


def lead_ms(audio: np.ndarray, rate: int) -> float:
    """Milliseconds before the first sample above SOUND_LEVEL."""
    return float(np.argmax(np.abs(audio) > SOUND_LEVEL)) * 1000 / rate


def raw(text: str) -> list[np.ndarray]:
    return [c.audio_float_array for c in engine()._voice.synthesize(text, REPEATABLE)]


def test_piper_starts_with_near_silence_and_the_engine_cuts_it():
    tts = engine()
    before = [lead_ms(a, tts.sample_rate) for t in TEXTS for a in raw(t)]
    after = [
        lead_ms(trim_leading_silence(a, tts.sample_rate), tts.sample_rate)
        for t in TEXTS
        for a in raw(t)
    ]
    assert np.median(before) >= 20, before  # what there is to cut
    assert max(after) <= LEAD_IN_S * 1000 + 0.1, after
    served = [lead_ms(a, tts.sample_rate) for a in tts.sentences(TEXTS[0])]
    assert served and max(served) <= LEAD_IN_S * 1000 + 0.1


@pytest.mark.parametrize("text", TEXTS[:3])
def test_only_silence_is_cut(text):
    """The trimmed sentence is the end of piper's, from just before its first sound."""
    rate = engine().sample_rate
    for audio in raw(text):
        trimmed = trim_leading_silence(audio, rate)
        cut = audio.size - trimmed.size
        assert np.array_equal(trimmed, audio[cut:])
        assert np.abs(audio[:cut]).max(initial=0.0) <= SOUND_LEVEL


def test_silent_audio_is_left_alone():
    quiet = np.full(1000, SOUND_LEVEL / 2, dtype=np.float32)
    assert trim_leading_silence(quiet, 22050) is quiet
