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
from numba import njit, prange

from kernels.stft_power import HOP, N_FFT, T, block_power, twiddles

CHUNK = 4 * 2 * T  # frames per parallel job (a multiple of block_power's 2 T)

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
def _normalize_pad(audio: np.ndarray, padded_len: int) -> np.ndarray:
    """Normalized, reflect-padded audio: [B, N] -> [B, padded_len] float32 (zeros past N + 400).

    x = (audio - mean) / sqrt(var + 1e-7) per clip, mean and variance accumulated in float64.
    """
    n_clips, n = audio.shape
    pad = N_FFT // 2
    xn = np.zeros((n_clips, padded_len), dtype=np.float32)
    for b in prange(n_clips):
        x = audio[b]
        total = 0.0
        for i in range(n):
            total += x[i]
        mean = total / n
        sq = 0.0
        for i in range(n):
            sq += (x[i] - mean) * (x[i] - mean)
        mean32 = np.float32(mean)
        scale = np.float32(1.0 / np.sqrt(sq / n + NORM_EPS))
        for i in range(n):
            xn[b, pad + i] = (x[i] - mean32) * scale
        for i in range(pad):  # numpy "reflect": the edge sample is not repeated
            xn[b, pad - 1 - i] = xn[b, pad + 1 + i]
            xn[b, pad + n + i] = xn[b, pad + n - 2 - i]
    return xn


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
def _log_mel(xn, window, tw, first_bin, band_width, band_weights, out, chunk_max) -> None:
    """out[b, m, f] = log10(max(mel power, 1e-10)); one parallel job per CHUNK frames of a clip.

    chunk_max[b, i] receives the largest value of chunk i, for the per-clip clamp.
    """
    n_clips, _, n_frames = out.shape
    n_chunks = chunk_max.shape[1]
    for job in prange(n_clips * n_chunks):
        b, i = divmod(np.int64(job), n_chunks)
        first = i * CHUNK
        valid = min(CHUNK, n_frames - first)
        power = np.empty((N_BINS, CHUNK), dtype=np.float32)
        for col in range(0, CHUNK, 2 * T):
            block_power(xn[b], first + col, window, tw, power, col)
        acc = np.empty(CHUNK, dtype=np.float32)
        logs = np.empty(CHUNK, dtype=np.float32)
        for m in range(N_MELS):
            acc[:] = np.float32(MEL_FLOOR)
            for k in range(band_width[m]):
                w = band_weights[m, k]
                row = power[first_bin[m] + k]
                for t in range(CHUNK):
                    acc[t] += w * row[t]
            _log10_positive(acc, logs)
            out[b, m, first : first + valid] = logs[:valid]
        chunk_max[b, i] = out[b, :, first : first + valid].max()


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
    xn = _normalize_pad(audio, (n_chunks * CHUNK - 1) * HOP + N_FFT)
    out = np.empty((n_clips, N_MELS, n_frames), dtype=np.float32)
    chunk_max = np.empty((n_clips, n_chunks), dtype=np.float32)
    _log_mel(xn, _WINDOW, _TWIDDLES, _FIRST_BIN, _BAND_WIDTH, _BAND_WEIGHTS, out, chunk_max)
    _clamp_scale(out, chunk_max)
    return out
