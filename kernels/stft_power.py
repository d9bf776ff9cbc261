"""Power spectra of 400-point windowed frames in float32, vectorized across frames (numba).

In:  a padded signal x, the index of a block's first frame, a 400-point window.
Out: power [201, 2 * T]: |rfft(window * frame)|^2 of 2 * T consecutive frames (hop 160).

Frames are the innermost (SIMD) axis everywhere. Two real frames share one complex FFT
(frame t is the real part, frame t + T the imaginary part), and the 400-point complex FFT is a
Stockham (self-sorting) FFT with radices 4, 4, 5, 5. Used by kernels/log_mel.py.
"""

import numpy as np
from numba import njit

N_FFT = 400
HOP = 160
T = 16  # frame pairs per FFT block: the SIMD axis (LLVM vectorizes loops of >= 16)
RADICES = (4, 4, 5, 5)
_C1, _C2 = np.float32(np.cos(2 * np.pi / 5)), np.float32(np.cos(4 * np.pi / 5))
_S1, _S2 = np.float32(np.sin(2 * np.pi / 5)), np.float32(np.sin(4 * np.pi / 5))


def twiddles() -> np.ndarray:
    """Stockham twiddles, complex64 [stage, 400]: entry j * R + r = exp(-2 pi i k r / (ns R))."""
    table = np.zeros((len(RADICES), N_FFT), dtype=np.complex128)
    ns = 1
    for stage, radix in enumerate(RADICES):
        j = np.arange(N_FFT // radix)[:, None]
        r = np.arange(radix)[None, :]
        table[stage] = np.exp(-2j * np.pi * (j % ns) * r / (ns * radix)).ravel()
        ns *= radix
    return table.astype(np.complex64)


@njit(fastmath=True, error_model="numpy", cache=True, inline="always")
def _cmul(ar, ai, br, bi):
    return ar * br - ai * bi, ar * bi + ai * br


@njit(fastmath=True, error_model="numpy", cache=True, inline="always")
def _radix4(ar, ai, br, bi, ns, tw) -> None:
    """One radix-4 Stockham pass over 400-point columns: (ar, ai) -> (br, bi)."""
    q = N_FFT // 4
    for j in range(q):
        out = (j // ns) * ns * 4 + j % ns
        w1, w2, w3 = tw[4 * j + 1], tw[4 * j + 2], tw[4 * j + 3]
        for t in range(T):
            x0r, x0i = ar[j, t], ai[j, t]
            x1r, x1i = _cmul(ar[j + q, t], ai[j + q, t], w1.real, w1.imag)
            x2r, x2i = _cmul(ar[j + 2 * q, t], ai[j + 2 * q, t], w2.real, w2.imag)
            x3r, x3i = _cmul(ar[j + 3 * q, t], ai[j + 3 * q, t], w3.real, w3.imag)
            sr, si, dr, di = x0r + x2r, x0i + x2i, x0r - x2r, x0i - x2i
            pr, pi, mr, mi = x1r + x3r, x1i + x3i, x1r - x3r, x1i - x3i
            br[out, t], bi[out, t] = sr + pr, si + pi
            br[out + ns, t], bi[out + ns, t] = dr + mi, di - mr  # d - i m
            br[out + 2 * ns, t], bi[out + 2 * ns, t] = sr - pr, si - pi
            br[out + 3 * ns, t], bi[out + 3 * ns, t] = dr - mi, di + mr  # d + i m


@njit(fastmath=True, error_model="numpy", cache=True, inline="always")
def _radix5(ar, ai, br, bi, ns, tw) -> None:
    """One radix-5 Stockham pass over 400-point columns: (ar, ai) -> (br, bi)."""
    q = N_FFT // 5
    for j in range(q):
        out = (j // ns) * ns * 5 + j % ns
        w1, w2, w3, w4 = tw[5 * j + 1], tw[5 * j + 2], tw[5 * j + 3], tw[5 * j + 4]
        for t in range(T):
            x0r, x0i = ar[j, t], ai[j, t]
            x1r, x1i = _cmul(ar[j + q, t], ai[j + q, t], w1.real, w1.imag)
            x2r, x2i = _cmul(ar[j + 2 * q, t], ai[j + 2 * q, t], w2.real, w2.imag)
            x3r, x3i = _cmul(ar[j + 3 * q, t], ai[j + 3 * q, t], w3.real, w3.imag)
            x4r, x4i = _cmul(ar[j + 4 * q, t], ai[j + 4 * q, t], w4.real, w4.imag)
            s1r, s1i, d1r, d1i = x1r + x4r, x1i + x4i, x1r - x4r, x1i - x4i
            s2r, s2i, d2r, d2i = x2r + x3r, x2i + x3i, x2r - x3r, x2i - x3i
            a1r, a1i = x0r + _C1 * s1r + _C2 * s2r, x0i + _C1 * s1i + _C2 * s2i
            a2r, a2i = x0r + _C2 * s1r + _C1 * s2r, x0i + _C2 * s1i + _C1 * s2i
            b1r, b1i = _S1 * d1r + _S2 * d2r, _S1 * d1i + _S2 * d2i
            b2r, b2i = _S2 * d1r - _S1 * d2r, _S2 * d1i - _S1 * d2i
            br[out, t], bi[out, t] = x0r + s1r + s2r, x0i + s1i + s2i
            br[out + ns, t], bi[out + ns, t] = a1r + b1i, a1i - b1r  # a1 - i b1
            br[out + 2 * ns, t], bi[out + 2 * ns, t] = a2r + b2i, a2i - b2r  # a2 - i b2
            br[out + 3 * ns, t], bi[out + 3 * ns, t] = a2r - b2i, a2i + b2r  # a2 + i b2
            br[out + 4 * ns, t], bi[out + 4 * ns, t] = a1r - b1i, a1i + b1r  # a1 + i b1


@njit(fastmath=True, error_model="numpy", cache=True)
def block_power(x, first_frame, window, tw, power, col) -> None:
    """4 |rfft(window * frame f)|^2 -> power[:, col + t] for the 2 T frames f = first_frame + t.

    x: padded float32 signal, frame f = x[160 f : 160 f + 400]; power: float32 [201, >= col + 2 T].
    """
    ar = np.empty((N_FFT, T), dtype=np.float32)
    ai = np.empty_like(ar)
    br = np.empty_like(ar)
    bi = np.empty_like(ar)
    for t in range(T):
        re = x[(first_frame + t) * HOP :]
        im = x[(first_frame + t + T) * HOP :]
        for n in range(N_FFT):
            ar[n, t] = window[n] * re[n]
            ai[n, t] = window[n] * im[n]
    _radix4(ar, ai, br, bi, 1, tw[0])
    _radix4(br, bi, ar, ai, 4, tw[1])
    _radix5(ar, ai, br, bi, 16, tw[2])
    _radix5(br, bi, ar, ai, 80, tw[3])
    # z = a + i b: 4 |A[k]|^2 = |Z[k] + conj Z[-k]|^2 and 4 |B[k]|^2 = |Z[k] - conj Z[-k]|^2.
    for k in range(N_FFT // 2 + 1):
        m = (N_FFT - k) % N_FFT
        for t in range(T):
            zr, zi, cr, ci = ar[k, t], ai[k, t], ar[m, t], ai[m, t]
            power[k, col + t] = (zr + cr) * (zr + cr) + (zi - ci) * (zi - ci)
            power[k, col + T + t] = (zr - cr) * (zr - cr) + (zi + ci) * (zi + ci)
