"""Turn audio → the model's input clip, exactly as Pipecat's LocalSmartTurnAnalyzerV3 builds it.

In: one turn's audio (int16 PCM, or float in [-1, 1]) at its own sample rate.
Out: `check_turn_audio` raises ValueError / TypeError on audio no engine can score;
`prepare_clip` gives float32 [128000]: 16 kHz (resampled with soxr "HQ", as Pipecat does),
the last 8 s, zero-padded at the start when shorter; `to_float32` scales int16 as Pipecat does.
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


def prepare_clip(
    audio: np.ndarray, sample_rate: int, max_seconds: float = CLIP_SECONDS
) -> np.ndarray:
    """Build the model input for one turn; raises as `check_turn_audio` on unusable audio."""
    check_turn_audio(audio, sample_rate)
    samples = to_float32(audio)
    # Pipecat keeps the last max_duration_secs at the pipeline's rate before resampling.
    max_samples = int(max_seconds * sample_rate)
    if len(samples) > max_samples:
        samples = samples[-max_samples:]
    if sample_rate != MODEL_SAMPLE_RATE and len(samples):
        import soxr

        samples = soxr.resample(samples, sample_rate, MODEL_SAMPLE_RATE, quality="HQ")
    clip = np.zeros(CLIP_SAMPLES, dtype=np.float32)
    tail = samples[-CLIP_SAMPLES:]
    if len(tail):
        clip[-len(tail) :] = tail
    return clip
