"""Batched Whisper log-mel features on the CPU, matching Pipecat's Smart Turn v3 features.

In:  audio [B, N] float32 at 16 kHz (N = 128000 for an 8-second Smart Turn clip).
Out: features [B, 80, N // 160] float32, equal (to float32 rounding) to Pipecat's
     ``compute_whisper_log_mel_features`` applied to each row.

Steps, per clip: zero-mean/unit-variance normalization (eps 1e-7), reflect padding of 200
samples, 400-sample periodic Hann frames every 160 samples, real FFT power, Slaney mel
filterbank, log10 with a 1e-10 floor, clamp to (clip max - 8), then (x + 4) / 4. The trailing
frame that Whisper drops is never computed. Everything runs in float32: numba loops for the
element-wise work and the (sparse) mel projection, scipy's pocketfft for the FFT.
"""

import numpy as np
import scipy.fft
from numba import get_num_threads, njit, prange

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
N_MELS = 80
N_BINS = N_FFT // 2 + 1
MEL_FLOOR = 1e-10
NORM_EPS = 1e-7
_CHUNK = 4  # clips per FFT call: keeps the frame and spectrum buffers cache-sized


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


def _mel_bands(filters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each mel filter is a run of consecutive bins: (first bin [80], weights [80, widest])."""
    first = np.zeros(N_MELS, dtype=np.int64)
    runs = []
    for m in range(N_MELS):
        nz = np.flatnonzero(filters[:, m])
        first[m] = nz[0]
        runs.append(filters[nz[0] : nz[-1] + 1, m])
    weights = np.zeros((N_MELS, max(len(r) for r in runs)), dtype=np.float32)
    for m, run in enumerate(runs):
        weights[m, : len(run)] = run
    return first, weights


_WINDOW = hann_window().astype(np.float32)
_FIRST_BIN, _BAND_WEIGHTS = _mel_bands(mel_filters())


@njit(parallel=True, fastmath=True, cache=True)
def _norm_stats(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-clip mean and 1/sqrt(var + eps) of [B, N] audio, accumulated in float64."""
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
            d = audio[b, i] - mu
            sq += d * d
        mean[b] = mu
        scale[b] = 1.0 / np.sqrt(sq / n + NORM_EPS)
    return mean, scale


@njit(parallel=True, cache=True)
def _frames(audio, mean, scale, window, frames) -> None:
    """Normalized, reflect-padded, windowed frames: frames[b, n, t] = w[n] * x_b[160 t + n - 200].

    Frames are the last axis so the later loops run over contiguous memory.
    """
    n_clips, n = audio.shape
    n_frames = frames.shape[2]
    for job in prange(n_clips * N_FFT):
        b, k = divmod(np.int64(job), N_FFT)
        w = window[k] * scale[b]
        mu = mean[b]
        for t in range(n_frames):
            j = t * HOP + k - N_FFT // 2
            if j < 0:
                j = -j
            elif j >= n:
                j = 2 * (n - 1) - j
            frames[b, k, t] = w * (audio[b, j] - mu)


@njit(fastmath=True, cache=True)
def _log10_positive(x: np.ndarray, out: np.ndarray) -> None:
    """out = log10(x) for positive float32 x, vectorizable: exponent bits + ln(1+f) series."""
    bits = x.view(np.int32)
    for t in range(x.size):
        exponent = np.float32((bits[t] >> 23) - 127)
        f = np.float32(bits[t] & 0x7FFFFF) * np.float32(2.0**-23)  # x = 2^exponent * (1 + f)
        s = f / (np.float32(2.0) + f)  # ln(1+f) = 2 atanh(s), s in [0, 1/3)
        z = s * s
        series = np.float32(2 / 13) * z + np.float32(2 / 11)
        series = (((series * z + np.float32(2 / 9)) * z + np.float32(2 / 7)) * z) + np.float32(
            2 / 5
        )
        series = ((series * z + np.float32(2 / 3)) * z + np.float32(2.0)) * s
        out[t] = exponent * np.float32(np.log10(2.0)) + series * np.float32(np.log10(np.e))


@njit(parallel=True, fastmath=True, cache=True)
def _mel_log10(spec, first_bin, band_weights, out, row_max) -> None:
    """out[b, m, :] = log10(max(sum_k w[m, k] |spec[b, first[m] + k, :]|^2, 1e-10)).

    spec is the complex spectrum viewed as float32 [B, 201, 2 * frames] (re, im interleaved);
    row_max[b, m] receives the row's maximum for the per-clip clamp.
    """
    n_clips = out.shape[0]
    n_frames = out.shape[2]
    for job in prange(n_clips * N_MELS):
        b, m = divmod(np.int64(job), N_MELS)
        acc = np.zeros(n_frames, dtype=np.float32)
        for k in range(band_weights.shape[1]):
            w = band_weights[m, k]
            if w == 0.0:
                continue
            row = spec[b, first_bin[m] + k]
            for t in range(n_frames):
                re = row[2 * t]
                im = row[2 * t + 1]
                acc[t] += w * (re * re + im * im)
        for t in range(n_frames):
            acc[t] = max(acc[t], np.float32(MEL_FLOOR))
        _log10_positive(acc, out[b, m])
        row_max[b, m] = out[b, m].max()


@njit(parallel=True, fastmath=True, cache=True)
def _clamp_scale(out, row_max) -> None:
    """In place: x = (max(x, clip_max - 8) + 4) / 4 for every row of every clip."""
    n_clips = out.shape[0]
    for job in prange(n_clips * N_MELS):
        b, m = divmod(np.int64(job), N_MELS)
        floor = row_max[b].max() - np.float32(8.0)
        row = out[b, m]
        for t in range(row.size):
            row[t] = (max(row[t], floor) + np.float32(4.0)) * np.float32(0.25)


def log_mel_features(audio: np.ndarray) -> np.ndarray:
    """Whisper log-mel features of a batch: [B, N] float 16 kHz -> [B, 80, N // 160] float32."""
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    if audio.ndim != 2 or audio.shape[1] < N_FFT:
        raise ValueError(f"expected audio [batch, samples >= {N_FFT}], got {audio.shape}")
    n_clips, n = audio.shape
    n_frames = n // HOP
    out = np.empty((n_clips, N_MELS, n_frames), dtype=np.float32)
    row_max = np.empty((n_clips, N_MELS), dtype=np.float32)
    mean, scale = _norm_stats(audio)
    frames = np.empty((min(n_clips, _CHUNK), N_FFT, n_frames), dtype=np.float32)
    for c in range(0, n_clips, _CHUNK):
        end = min(c + _CHUNK, n_clips)
        chunk = frames[: end - c]
        _frames(audio[c:end], mean[c:end], scale[c:end], _WINDOW, chunk)
        spec = scipy.fft.rfft(chunk, axis=1, workers=get_num_threads())
        _mel_log10(spec.view(np.float32), _FIRST_BIN, _BAND_WEIGHTS, out[c:end], row_max[c:end])
    _clamp_scale(out, row_max)
    return out
