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

from kernels.log_mel_chunks import (
    CHUNK,
    HOP,
    MEL_FLOOR,
    N_BINS,
    N_FFT,
    N_MELS,
    RADICES,
    log_mel_chunks,
)

__all__ = ["HOP", "MEL_FLOOR", "N_BINS", "N_FFT", "N_MELS", "NORM_EPS", "SAMPLE_RATE"]
__all__ += ["hann_window", "log_mel_features", "mel_bands", "mel_filters", "twiddles"]

SAMPLE_RATE = 16000
NORM_EPS = 1e-7


def hann_window() -> np.ndarray:
    """Periodic Hann window of N_FFT points (torch.hann_window), float64 [400]."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-30) / 1000.0) * (27.0 / np.log(6.4))
    return np.where(hz >= 1000.0, log_part, 3.0 * hz / 200.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, 200.0 * mel / 3.0)


def mel_filters() -> np.ndarray:
    """Slaney-normalized triangular mel filterbank, float64 [201 bins, 80 mels] (0-8 kHz)."""
    mel_edges = np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2)
    edges = _mel_to_hz(mel_edges)
    bins_hz = np.linspace(0, SAMPLE_RATE // 2, N_BINS)
    slopes = edges[None, :] - bins_hz[:, None]
    down = -slopes[:, :-2] / np.diff(edges)[:-1]
    up = slopes[:, 2:] / np.diff(edges)[1:]
    filters = np.maximum(0.0, np.minimum(down, up))
    return filters * (2.0 / (edges[2:] - edges[:-2]))[None, :]


def mel_bands() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The filterbank as runs of consecutive bins: first bin [80], width [80], weights [80, 14]."""
    filters = mel_filters()
    first = np.zeros(N_MELS, dtype=np.int64)
    runs = []
    for m in range(N_MELS):
        nz = np.flatnonzero(filters[:, m])
        first[m] = nz[0]
        runs.append(filters[nz[0] : nz[-1] + 1, m])
    weights = np.zeros((N_MELS, max(len(r) for r in runs)), dtype=np.float32)
    for m, run in enumerate(runs):
        weights[m, : len(run)] = run
    return first, np.array([len(r) for r in runs]), weights


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
