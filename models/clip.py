"""Turn audio → the model's input clip, exactly as Pipecat's LocalSmartTurnAnalyzerV3 builds it.

In: one turn's audio (int16 PCM, or float in [-1, 1]) at its own sample rate.
Out: `check_turn_audio` raises ValueError / TypeError on audio no engine can score;
`turn_segment` gives the turn's last 8 s at 16 kHz (resampled with soxr "HQ", as Pipecat does),
unpadded (what the engine packs for a batch); `prepare_clip` gives the model input float32
[128000], that segment zero-padded at the start; `to_float32` scales int16 as Pipecat does.
soxr is imported only when a clip needs resampling: the GPU path loads this module without it.
"""

import numpy as np

MODEL_SAMPLE_RATE = 16000
CLIP_SECONDS = 8
CLIP_SAMPLES = MODEL_SAMPLE_RATE * CLIP_SECONDS
MIN_SAMPLE_RATE = 4000
MAX_SAMPLE_RATE = 192000


def to_float32(audio: np.ndarray) -> np.ndarray:
    """int16 PCM → float32 /32768 (Pipecat's scaling); float input is passed through as float32."""
    if audio.dtype == np.int16:
        return audio.astype(np.float32) / 32768.0
    if np.issubdtype(audio.dtype, np.floating):
        return audio.astype(np.float32, copy=False)
    raise TypeError(f"turn audio must be int16 PCM or float, not {audio.dtype}")


def check_turn_audio(audio: np.ndarray, sample_rate: int) -> None:
    """Raise unless `audio` is one turn the model can score: mono (ValueError), int16 or float
    (TypeError), finite (ValueError), at a rate within 4..192 kHz (ValueError)."""
    if audio.ndim != 1:
        raise ValueError(f"turn audio must be mono (1-D), got shape {audio.shape}")
    floating = np.issubdtype(audio.dtype, np.floating)
    if audio.dtype != np.int16 and not floating:
        raise TypeError(f"turn audio must be int16 PCM or float, not {audio.dtype}")
    if floating and not np.isfinite(audio).all():
        raise ValueError("turn audio contains NaN or infinite samples")
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise ValueError(
            f"sample rate {sample_rate} Hz is outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz"
        )


def turn_segment(
    audio: np.ndarray, sample_rate: int, max_seconds: float = CLIP_SECONDS
) -> np.ndarray:
    """The part of a turn the model sees, at 16 kHz and not yet padded: the last `max_seconds`
    at the source rate (as Pipecat trims), resampled with soxr "HQ" when not at 16 kHz, then at
    most the last 8 s. 16 kHz int16 audio comes back as an int16 view (no copy); anything else
    as float32 in [-1, 1]. Raises as `check_turn_audio` on unusable audio."""
    check_turn_audio(audio, sample_rate)
    max_samples = int(max_seconds * sample_rate)
    if len(audio) > max_samples:
        audio = audio[-max_samples:]
    if sample_rate == MODEL_SAMPLE_RATE:
        return (
            audio[-CLIP_SAMPLES:] if audio.dtype == np.int16 else to_float32(audio)[-CLIP_SAMPLES:]
        )
    samples = to_float32(audio)
    if len(samples):
        import soxr

        samples = soxr.resample(samples, sample_rate, MODEL_SAMPLE_RATE, quality="HQ")
    return samples[-CLIP_SAMPLES:]


def pad_clip(segment: np.ndarray) -> np.ndarray:
    """A `turn_segment` → the model input float32 [128000], zero-padded at the start."""
    clip = np.zeros(CLIP_SAMPLES, dtype=np.float32)
    if len(segment):
        clip[-len(segment) :] = to_float32(segment)
    return clip


def prepare_clip(
    audio: np.ndarray, sample_rate: int, max_seconds: float = CLIP_SECONDS
) -> np.ndarray:
    """Build the model input for one turn exactly as Pipecat does (`turn_segment`, then
    `pad_clip`); raises as `check_turn_audio` on unusable audio."""
    return pad_clip(turn_segment(audio, sample_rate, max_seconds))
