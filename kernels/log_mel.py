"""Batched Whisper log-mel features on the CPU, matching Pipecat's Smart Turn v3 features.

In:  audio [B, N] float32 at 16 kHz (N = 128000 for an 8-second Smart Turn clip).
Out: features [B, 80, N // 160] float32, equal (to float32 rounding) to Pipecat's
     ``compute_whisper_log_mel_features`` applied to each row.

Steps, per clip: zero-mean/unit-variance normalization (eps 1e-7), reflect padding of 200
samples, 400-sample periodic Hann frames every 160 samples, real FFT power, Slaney mel
filterbank, log10 with a 1e-10 floor, clamp to (clip max - 8), then (x + 4) / 4. The trailing
frame that Whisper drops is never computed. Everything runs in float32 numba loops that LLVM
vectorizes across frames; the heavy part (FFT, sparse mel projection, log10) is
kernels/log_mel_chunks.py, parallel over (clip, 160-frame chunk) jobs on numba's thread pool.
This module holds the tables (window, mel filterbank, FFT twiddles) and the per-clip steps.
"""

import numpy as np
from numba import njit, prange

from kernels.log_mel_chunks import CHUNK, RADICES, log_mel_chunks
from kernels.mel_tables import (
    HOP,
    MEL_FLOOR,
    N_BINS,
    N_FFT,
    N_MELS,
    NORM_EPS,
    SAMPLE_RATE,
    hann_window,
    mel_bands,
    mel_filters,
)

__all__ = ["HOP", "MEL_FLOOR", "N_BINS", "N_FFT", "N_MELS", "NORM_EPS", "SAMPLE_RATE"]
__all__ += ["hann_window", "log_mel_features", "mel_bands", "mel_filters", "twiddles"]


def twiddles() -> np.ndarray:
    """Stockham FFT twiddles, complex64 [stage, 400]: entry j R + r = exp(-2 pi i k r / (ns R)),
    with R the stage's radix, ns the product of the earlier radices and k = j mod ns."""
    table = np.zeros((len(RADICES), N_FFT), dtype=np.complex128)
    ns = 1
    for stage, radix in enumerate(RADICES):
        j = np.arange(N_FFT // radix)[:, None]
        r = np.arange(radix)[None, :]
        table[stage] = np.exp(-2j * np.pi * (j % ns) * r / (ns * radix)).ravel()
        ns *= radix
    return table.astype(np.complex64)


_WINDOW = hann_window().astype(np.float32)
_TWIDDLES = twiddles()
_FIRST_BIN, _BAND_WIDTH, _BAND_WEIGHTS = mel_bands()
_BAND_WEIGHTS *= np.float32(0.25)  # log_mel_chunks' power spectra are 4 |X|^2


@njit(parallel=True, fastmath=True, error_model="numpy", cache=True)
def _clip_stats(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per clip of [B, N] audio: mean and 1 / sqrt(var + 1e-7), accumulated in float64."""
    n_clips, n = audio.shape
    mean = np.empty(n_clips, dtype=np.float32)
    scale = np.empty(n_clips, dtype=np.float32)
    for b in prange(n_clips):
        total = 0.0
        for i in range(n):
            total += audio[b, i]
        mu = total / n
        sq = 0.0
        for i in range(n):
            sq += (audio[b, i] - mu) * (audio[b, i] - mu)
        mean[b] = mu
        scale[b] = 1.0 / np.sqrt(sq / n + NORM_EPS)
    return mean, scale


@njit(parallel=True, fastmath=True, error_model="numpy", cache=True)
def _clamp_scale(out, chunk_max) -> None:
    """In place: x = (max(x, clip_max - 8) + 4) / 4 for every row of every clip."""
    n_clips, n_mels, _ = out.shape
    for job in prange(n_clips * n_mels):
        b, m = divmod(np.int64(job), n_mels)
        floor = chunk_max[b].max() - np.float32(8.0)
        row = out[b, m]
        for t in range(row.size):
            value = row[t] if row[t] > floor else floor
            row[t] = (value + np.float32(4.0)) * np.float32(0.25)


def log_mel_features(audio: np.ndarray) -> np.ndarray:
    """Whisper log-mel features of a batch: [B, N] float 16 kHz -> [B, 80, N // 160] float32."""
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if audio.ndim != 2 or audio.shape[1] < N_FFT:
        raise ValueError(f"expected audio [batch, samples >= {N_FFT}], got {audio.shape}")
    n_clips, n = audio.shape
    n_frames = n // HOP
    n_chunks = -(-n_frames // CHUNK)
    out = np.empty((n_clips, N_MELS, n_frames), dtype=np.float32)
    chunk_max = np.empty((n_clips, n_chunks), dtype=np.float32)
    tables = (_WINDOW, _TWIDDLES, _FIRST_BIN, _BAND_WIDTH, _BAND_WEIGHTS)
    log_mel_chunks(audio, *_clip_stats(audio), *tables, out, chunk_max)
    _clamp_scale(out, chunk_max)
    return out
