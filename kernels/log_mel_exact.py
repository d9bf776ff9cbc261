"""Batched log-mel features that reproduce Pipecat's float64 arithmetic step for step.

In: audio [B, 128000] float32 at 16 kHz. Out: [B, 80, 800] float32, equal to Pipecat's
`compute_whisper_log_mel_features` on each row (bit for bit in nearly every element).

Why a second feature kernel: the bundled Smart Turn model is int8 and quantizes its input, so
a feature that moves by 1e-5 (float32 rounding) can cross a quantization step and move the
probability by 1e-2. Matching stock Pipecat's verdicts within 1e-3 therefore needs Pipecat's own
arithmetic: float32 normalization, float64 spectrum, mel projection and log. The float32 kernel
(kernels.log_mel) is for the float models (GPU), where no such cliff exists.
"""

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

from kernels.mel_tables import HOP, MEL_FLOOR, N_FFT, NORM_EPS, hann_window, mel_filters

_WINDOW = hann_window()
_MEL_T = np.ascontiguousarray(mel_filters().T)  # [80, 201] float64


_CHUNK = 2  # clips per pass: keeps the float64 frame and spectrum buffers in cache


def log_mel_features_exact(audio: np.ndarray, workers: int = -1) -> np.ndarray:
    """float32 [B, N] → float32 [B, 80, N // 160], Pipecat's arithmetic batched."""
    x = np.array(audio, dtype=np.float32, ndmin=2)
    parts = [_features(x[i : i + _CHUNK], workers) for i in range(0, len(x), _CHUNK)]
    return np.concatenate(parts)


def _features(x: np.ndarray, workers: int) -> np.ndarray:
    for row in x:  # float32, in Pipecat's exact expression and summation order
        row[:] = (row - row.mean()) / np.sqrt(row.var() + NORM_EPS)
    padded = np.pad(x.astype(np.float64), ((0, 0), (N_FFT // 2, N_FFT // 2)), mode="reflect")
    frames = sliding_window_view(padded, N_FFT, axis=-1)[:, ::HOP] * _WINDOW
    spectrum = scipy.fft.rfft(frames, axis=-1, workers=workers)
    power = spectrum.real**2 + spectrum.imag**2  # [B, frames, 201]
    mel = np.maximum(MEL_FLOOR, _MEL_T @ power.transpose(0, 2, 1))  # [B, 80, frames]
    log_spec = np.log10(mel)[:, :, :-1]
    log_spec = np.maximum(log_spec, log_spec.max(axis=(1, 2), keepdims=True) - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)
