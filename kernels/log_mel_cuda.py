"""Batched Whisper log-mel features on an NVIDIA GPU (numba.cuda), same math as kernels/log_mel.py.

In:  audio [B, N] float32 at 16 kHz, a numpy array or any object with __cuda_array_interface__
     (a torch CUDA tensor, a CuPy array, a numba device array).
Out: a numba device array [B, 80, N // 160] float32; torch.as_tensor(out, device="cuda") wraps
     it without a copy.

Three kernels: per-clip mean and variance (one block per clip, float64 tree reduction); one
block per (frame, clip) that windows the frame into shared memory, takes its 400-point DFT as
20 x 20 (two passes of 20-point DFTs with a twiddle step in between), projects the power onto the
80 mel bands, takes log10 and folds its maximum into the clip's maximum; then clamp and scale.
Nothing touches the GPU at import, so the module imports on machines without one.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda, float32, float64

from kernels.mel_tables import HOP, MEL_FLOOR, N_BINS, N_FFT, N_MELS, NORM_EPS, mel_bands
from kernels.mel_tables import hann_window as _hann_window

THREADS = 128  # threads per block, a power of two
_R = 20  # N_FFT = _R * _R


@cuda.jit
def _stats_kernel(audio, mean, scale, clip_max):
    """mean[b] and 1 / sqrt(var[b] + eps) of each clip, clip_max[b] = -inf: one block per clip.

    Two passes over the clip (sum of x, then sum of (x - mean)^2), each reduced in float64 by a
    shared-memory tree.
    """
    b = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    n = audio.shape[1]
    partial = cuda.shared.array(THREADS, float64)
    mu = 0.0
    for phase in range(2):
        total = 0.0
        for i in range(tid, n, THREADS):
            d = audio[b, i] - mu
            total += d if phase == 0 else d * d
        partial[tid] = total
        cuda.syncthreads()
        step = THREADS // 2
        while step > 0:
            if tid < step:
                partial[tid] += partial[tid + step]
            cuda.syncthreads()
            step //= 2
        if phase == 0:
            mu = partial[0] / n
        cuda.syncthreads()  # everyone has read partial[0] before it is overwritten
    if tid == 0:
        mean[b] = mu
        scale[b] = 1.0 / math.sqrt(partial[0] / n + NORM_EPS)
        clip_max[b] = -math.inf


@cuda.jit
def _frame_kernel(
    audio, mean, scale, window, twiddle, first_bin, band_width, weights, out, clip_max
):
    """out[b, :, f] = log10(max(mel(|DFT(window * frame f)|^2), 1e-10)); one block per frame."""
    f = cuda.blockIdx.x
    b = cuda.blockIdx.y
    tid = cuda.threadIdx.x
    n = audio.shape[1]
    frame = cuda.shared.array(N_FFT, float32)
    cos_t = cuda.shared.array(N_FFT, float32)  # cos_t[m] + i sin_t[m] = exp(-2 pi i m / 400)
    sin_t = cuda.shared.array(N_FFT, float32)
    y_re = cuda.shared.array(N_FFT, float32)
    y_im = cuda.shared.array(N_FFT, float32)
    power = cuda.shared.array(N_BINS, float32)
    logs = cuda.shared.array(N_MELS, float32)
    mu = mean[b]
    sc = scale[b]
    for i in range(tid, N_FFT, THREADS):
        j = f * HOP + i - N_FFT // 2
        j = -j if j < 0 else j
        j = 2 * (n - 1) - j if j >= n else j  # numpy "reflect" padding
        frame[i] = window[i] * ((audio[b, j] - mu) * sc)
        cos_t[i] = twiddle[0, i]
        sin_t[i] = twiddle[1, i]
    cuda.syncthreads()
    # Pass 1, item (n2, k1): y[n2, k1] = W400^(n2 k1) * sum_n1 x[20 n1 + n2] W20^(n1 k1).
    for item in range(tid, N_FFT, THREADS):
        n2 = item // _R
        k1 = item % _R
        re = float32(0.0)
        im = float32(0.0)
        for n1 in range(_R):
            m = (_R * n1 * k1) % N_FFT
            re += frame[_R * n1 + n2] * cos_t[m]
            im += frame[_R * n1 + n2] * sin_t[m]
        m = (n2 * k1) % N_FFT
        y_re[item] = re * cos_t[m] - im * sin_t[m]
        y_im[item] = re * sin_t[m] + im * cos_t[m]
    cuda.syncthreads()
    # Pass 2, bin k = k1 + 20 k2: X[k] = sum_n2 y[n2, k1] W20^(n2 k2); keep |X[k]|^2.
    for k in range(tid, N_BINS, THREADS):
        k1 = k % _R
        k2 = k // _R
        re = float32(0.0)
        im = float32(0.0)
        for n2 in range(_R):
            m = (_R * n2 * k2) % N_FFT
            yr = y_re[n2 * _R + k1]
            yi = y_im[n2 * _R + k1]
            re += yr * cos_t[m] - yi * sin_t[m]
            im += yr * sin_t[m] + yi * cos_t[m]
        power[k] = re * re + im * im
    cuda.syncthreads()
    for m in range(tid, N_MELS, THREADS):
        acc = float32(0.0)
        for k in range(band_width[m]):
            acc += weights[m, k] * power[first_bin[m] + k]
        logs[m] = math.log10(acc if acc > MEL_FLOOR else float32(MEL_FLOOR))
        out[b, m, f] = logs[m]
    cuda.syncthreads()
    if tid == 0:
        top = logs[0]
        for m in range(1, N_MELS):
            top = logs[m] if logs[m] > top else top
        cuda.atomic.max(clip_max, b, top)


@cuda.jit
def _clamp_kernel(out, clip_max):
    """out = (max(out, clip_max[b] - 8) + 4) / 4, one thread per element."""
    i = cuda.grid(1)
    per_clip = out.shape[1] * out.shape[2]
    if i < out.shape[0] * per_clip:
        b = i // per_clip
        m = (i % per_clip) // out.shape[2]
        f = i % out.shape[2]
        floor = clip_max[b] - float32(8.0)
        value = out[b, m, f] if out[b, m, f] > floor else floor
        out[b, m, f] = (value + float32(4.0)) * float32(0.25)


_tables: dict[str, object] = {}


def _constants() -> dict[str, object]:
    """Window and mel band tables on the device, copied on first use."""
    if not _tables:
        first, width, weights = mel_bands()
        angle = -2.0 * np.pi * np.arange(N_FFT) / N_FFT
        _tables["window"] = cuda.to_device(_hann_window().astype(np.float32))
        _tables["twiddle"] = cuda.to_device(
            np.stack([np.cos(angle), np.sin(angle)]).astype(np.float32)
        )
        _tables["first"] = cuda.to_device(first.astype(np.int32))
        _tables["width"] = cuda.to_device(width.astype(np.int32))
        _tables["weights"] = cuda.to_device(weights)
    return _tables


def log_mel_features_cuda(audio) -> cuda.devicearray.DeviceNDArray:
    """Whisper log-mel features on the GPU: [B, N] float32 -> device [B, 80, N // 160] float32."""
    if hasattr(audio, "__cuda_array_interface__"):
        audio = cuda.as_cuda_array(audio)
    else:
        audio = cuda.to_device(np.ascontiguousarray(audio, dtype=np.float32))
    if audio.dtype != np.float32 or audio.ndim != 2 or audio.shape[1] < N_FFT:
        raise ValueError(f"expected float32 audio [batch, samples >= {N_FFT}], got {audio.shape}")
    n_clips, n = audio.shape
    n_frames = n // HOP
    t = _constants()
    mean = cuda.device_array(n_clips, dtype=np.float32)
    scale = cuda.device_array(n_clips, dtype=np.float32)
    out = cuda.device_array((n_clips, N_MELS, n_frames), dtype=np.float32)
    clip_max = cuda.device_array(n_clips, dtype=np.float32)
    _stats_kernel[n_clips, THREADS](audio, mean, scale, clip_max)
    _frame_kernel[(n_frames, n_clips), THREADS](
        audio,
        mean,
        scale,
        t["window"],
        t["twiddle"],
        t["first"],
        t["width"],
        t["weights"],
        out,
        clip_max,
    )
    _clamp_kernel[-(-out.size // THREADS), THREADS](out, clip_max)
    return out
