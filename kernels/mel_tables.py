"""The fixed tables of Whisper's log-mel features: sizes, the Hann window, the mel filterbank.

Numpy only (no numba), so the Pipecat-exact CPU path can use them without loading a JIT.
"""

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
N_BINS = N_FFT // 2 + 1
N_MELS = 80
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
