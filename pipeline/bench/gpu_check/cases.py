"""Test audio: int16 16 kHz turn segments of the kinds that break feature code differently.

In: a case name, a count and a seed. Out: `count` int16 segments (each at most 8 s).
noise: 8 s of Gaussian noise at varied levels; tones: 8 s sums of two sines with a slow
envelope over noise 30 dB down (a phone line's SNR); pure_tones (not checked, recorded): the
same without the noise, whose mel bands sit just above the clamp at max - 80 dB, where float32
FFT rounding alone moves features by over 1e-4 between two CPU FFTs; silence: all-zero turns
(the first of a batch empty); front_padded: 0.3-4 s of noise, so that most of the clip is
padding; very_short: 1 to 399 samples (under one FFT frame).
`varied_segments` mixes every kind with speech-like bursts, so that the probabilities differ
from turn to turn and an answer delivered to the wrong caller shows.
"""

import numpy as np

from models.clip import CLIP_SAMPLES, MODEL_SAMPLE_RATE

CASES = ("noise", "tones", "silence", "front_padded", "very_short")
INFO_CASES = ("pure_tones",)  # recorded, not checked (see the module docstring)


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    level = np.float32(rng.uniform(100, 8000))
    noise = rng.standard_normal(n, dtype=np.float32) * level
    return np.clip(noise, -32768, 32767).astype(np.int16)


def _tones(rng: np.random.Generator, n: int, noise: float = 0.03) -> np.ndarray:
    t = np.arange(n, dtype=np.float32) / np.float32(MODEL_SAMPLE_RATE)  # float32: 4096 turns
    f1, f2 = rng.uniform(80, 4000, size=2).astype(np.float32)
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.2, 3) * t)
    wave = np.sin(2 * np.pi * f1 * t) + 0.5 * np.sin(2 * np.pi * f2 * t + rng.uniform(0, 6))
    wave = wave * envelope + rng.standard_normal(n, dtype=np.float32) * np.float32(noise)
    return (wave * np.float32(rng.uniform(500, 12000))).astype(np.int16)


def segments(case: str, count: int, seed: int = 0) -> list[np.ndarray]:
    """`count` segments of one case (see the module docstring)."""
    rng = np.random.default_rng(seed)
    if case == "noise":
        return [_noise(rng, CLIP_SAMPLES) for _ in range(count)]
    if case == "tones":
        return [_tones(rng, CLIP_SAMPLES) for _ in range(count)]
    if case == "pure_tones":
        return [_tones(rng, CLIP_SAMPLES, noise=0.0) for _ in range(count)]
    if case == "silence":
        return [np.zeros(0 if i == 0 else CLIP_SAMPLES, np.int16) for i in range(count)]
    if case == "front_padded":
        lengths = rng.integers(int(0.3 * MODEL_SAMPLE_RATE), 4 * MODEL_SAMPLE_RATE, size=count)
        return [_noise(rng, int(n)) for n in lengths]
    if case == "very_short":
        return [_noise(rng, int(n)) for n in rng.integers(1, 400, size=count)]
    raise ValueError(f"unknown case {case!r}; cases: {', '.join(CASES)}")


def varied_segments(count: int, seed: int = 1) -> list[np.ndarray]:
    """`count` distinct segments, 0.05-8 s, of noise, tones and speech-like bursts followed by
    silence of varied length (what ends a turn), so their probabilities spread."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        n = int(np.clip(rng.lognormal(0.6, 0.7), 0.05, 8.0) * MODEL_SAMPLE_RATE)
        kind = i % 3
        audio = _noise(rng, n) if kind == 0 else _tones(rng, n)
        if kind == 2:  # bursts of "syllables", then a trailing pause
            t = np.arange(n) / MODEL_SAMPLE_RATE
            gate = np.sin(2 * np.pi * rng.uniform(2, 6) * t) > 0
            audio = (audio * gate).astype(np.int16)
            audio[int(n * rng.uniform(0.4, 1.0)) :] = 0
        out.append(audio)
    return out
