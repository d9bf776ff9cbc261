"""Batched Whisper log-mel features on the CPU, matching Pipecat's Smart Turn v3 features.

In:  audio [B, N] float32 at 16 kHz (N = 128000 for an 8-second Smart Turn clip).
Out: features [B, 80, N // 160] float32, equal (to float32 rounding) to Pipecat's
     ``compute_whisper_log_mel_features`` applied to each row.

Steps, per clip: zero-mean/unit-variance normalization (eps 1e-7), reflect padding of 200
samples, 400-sample periodic Hann frames every 160 samples, real FFT power, Slaney mel
filterbank, log10 with a 1e-10 floor, clamp to (clip max - 8), then (x + 4) / 4. The trailing
frame that Whisper drops is never computed. Everything runs in float32 numba loops that LLVM
vectorizes across frames: the FFT (kernels/stft_power.py), the sparse mel projection, and a
polynomial log10. Parallel over (clip, 160-frame chunk) jobs on numba's thread pool.
"""

import numpy as np
from numba import njit, prange

from kernels.stft_power import HOP, N_FFT, PAIRS, block_power, twiddles

CHUNK = 5 * 2 * PAIRS  # frames per parallel job: 5 FFT blocks, so 800 frames are 5 jobs

SAMPLE_RATE = 16000
N_MELS = 80
N_BINS = N_FFT // 2 + 1
MEL_FLOOR = 1e-10
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


_WINDOW = hann_window().astype(np.float32)
_TWIDDLES = twiddles()
_FIRST_BIN, _BAND_WIDTH, _BAND_WEIGHTS = mel_bands()
_BAND_WEIGHTS *= np.float32(0.25)  # block_power returns 4 * |X|^2


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


@njit(fastmath=True, error_model="numpy", cache=True)
def _padded_rows(a: np.ndarray, mean, scale, first_frame: int, xt: np.ndarray) -> None:
    """xt[c, r] = x[160 (first_frame + r) + c]: x is the clip `a` normalized, padded by 200
    reflected samples on each side (numpy "reflect": the edge is not repeated), then zeros."""
    n = a.size
    seg = np.zeros(xt.size, dtype=np.float32)  # x[start : start + 160 * rows], contiguous
    start = HOP * first_frame - N_FFT // 2  # index in `a` of seg[0]
    inside_lo = min(max(0, -start), seg.size)
    inside_hi = max(min(seg.size, n - start), inside_lo)
    for i in range(inside_lo, inside_hi):
        seg[i] = (a[start + i] - mean) * scale
    for i in range(inside_lo):  # left padding, only in a clip's first chunk
        seg[i] = (a[-(start + i)] - mean) * scale
    for i in range(inside_hi, min(seg.size, n + N_FFT // 2 - start)):  # right padding
        seg[i] = (a[2 * (n - 1) - (start + i)] - mean) * scale
    for c in range(HOP):
        for r in range(xt.shape[1]):
            xt[c, r] = seg[r * HOP + c]


@njit(fastmath=True, error_model="numpy", cache=True)
def _log10_positive(x: np.ndarray, out: np.ndarray) -> None:
    """out = log10(x) for positive float32 x, vectorizable: exponent bits + ln(1+f) series."""
    bits = x.view(np.int32)
    for t in range(out.size):
        exponent = np.float32(np.int32(bits[t] >> 23) - np.int32(127))
        f = np.float32(np.int32(bits[t] & 0x7FFFFF)) * np.float32(2.0**-23)  # x = 2^e (1 + f)
        s = f / (np.float32(2.0) + f)  # ln(1 + f) = 2 atanh(s), 0 <= s < 1/3
        z = s * s
        series = np.float32(2 / 13) * z + np.float32(2 / 11)
        for coef in (2 / 9, 2 / 7, 2 / 5, 2 / 3, 2.0):
            series = series * z + np.float32(coef)
        out[t] = exponent * np.float32(np.log10(2.0)) + series * s * np.float32(np.log10(np.e))


@njit(parallel=True, fastmath=True, error_model="numpy", cache=True)
def _log_mel(audio, mean, scale, chunk, window, tw, first_bin, band_width, band_weights, out, top):
    """out[b, m, f] = log10(max(mel power, 1e-10)); one parallel job per `chunk` frames.

    top[b, i] receives the largest value of chunk i of clip b, for the per-clip clamp.
    """
    n_clips, _, n_frames = out.shape
    n_chunks = top.shape[1]
    for job in prange(n_clips * n_chunks):
        b, i = divmod(np.int64(job), n_chunks)
        first = i * chunk
        valid = min(chunk, n_frames - first)
        xt = np.empty((HOP, chunk + N_FFT // HOP), dtype=np.float32)
        _padded_rows(audio[b], mean[b], scale[b], first, xt)
        power = np.empty((N_BINS, chunk), dtype=np.float32)
        for col in range(0, chunk, 2 * PAIRS):
            block_power(xt, col, window, tw, power, col)
        acc = np.empty(chunk, dtype=np.float32)
        logs = np.empty(chunk, dtype=np.float32)
        for m in range(N_MELS):
            acc[:] = 0.0
            for k in range(band_width[m]):
                w = band_weights[m, k]
                row = power[first_bin[m] + k]
                for t in range(chunk):
                    acc[t] += w * row[t]
            for t in range(chunk):
                acc[t] = max(acc[t], np.float32(MEL_FLOOR))
            _log10_positive(acc, logs)
            out[b, m, first : first + valid] = logs[:valid]
        top[b, i] = out[b, :, first : first + valid].max()


@njit(parallel=True, fastmath=True, error_model="numpy", cache=True)
def _clamp_scale(out, chunk_max) -> None:
    """In place: x = (max(x, clip_max - 8) + 4) / 4 for every row of every clip."""
    n_clips = out.shape[0]
    for job in prange(n_clips * N_MELS):
        b, m = divmod(np.int64(job), N_MELS)
        floor = chunk_max[b].max() - np.float32(8.0)
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
    n_chunks = -(-n_frames // CHUNK)
    out = np.empty((n_clips, N_MELS, n_frames), dtype=np.float32)
    chunk_max = np.empty((n_clips, n_chunks), dtype=np.float32)
    tables = (_WINDOW, _TWIDDLES, _FIRST_BIN, _BAND_WIDTH, _BAND_WEIGHTS)
    _log_mel(audio, *_clip_stats(audio), CHUNK, *tables, out, chunk_max)
    _clamp_scale(out, chunk_max)
    return out
