"""The turns `bench turn-engine` submits: int16 16 kHz segments of mixed lengths.

In: how many distinct segments, a seed. Out: segments from 1 to 8 s long, most of them short
(a log-normal length with a mean near 3 s, as call-center turns are), holding speech-level
noise. Built once before the run, so the run measures the engine, not the audio.
"""

import numpy as np

from models.clip import CLIP_SAMPLES, MODEL_SAMPLE_RATE

MIN_SECONDS, MAX_SECONDS = 1.0, 8.0


def mixed_segments(count: int = 256, seed: int = 0) -> list[np.ndarray]:
    """`count` int16 segments, 1-8 s long, mean about 3 s."""
    rng = np.random.default_rng(seed)
    seconds = np.clip(rng.lognormal(mean=0.95, sigma=0.5, size=count), MIN_SECONDS, MAX_SECONDS)
    lengths = np.minimum((seconds * MODEL_SAMPLE_RATE).astype(int), CLIP_SAMPLES)
    return [(rng.standard_normal(n) * 3000).astype(np.int16) for n in lengths]
