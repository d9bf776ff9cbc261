"""Power spectra of 400-point windowed frames in float32, vectorized across frames (numba).

In:  a padded signal (in rows of 160 samples), the first frame of a block, a 400-point window.
Out: 4 |rfft(window * frame)|^2 [201 bins, 2 P] for the 2 P consecutive frames (hop 160).

Frames are the innermost (SIMD) axis everywhere. Two real frames share one complex FFT
(frame t is the real part, frame t + P the imaginary part), and the 400-point complex FFT is a
Stockham (self-sorting) FFT with radices 4, 4, 5, 5; P = PAIRS. Used by kernels/log_mel.py.

Every inner loop runs over the P frames and must stay vectorized by LLVM; check with
llvmlite.binding.set_option("", "--pass-remarks=loop-vectorize") after changing one. Pitfalls
met here: a short loop with a small body is fully unrolled and left scalar, and an index that
LLVM cannot bound (power[k, col + t]) blocks its alias checks.
"""

import numpy as np
from numba import njit

N_FFT = 400
HOP = 160
PAIRS = 16  # frame pairs per FFT block (2 AVX2 registers of float32 per row)
RADICES = (4, 4, 5, 5)
_C1, _C2 = np.float32(np.cos(2 * np.pi / 5)), np.float32(np.cos(4 * np.pi / 5))
_S1, _S2 = np.float32(np.sin(2 * np.pi / 5)), np.float32(np.sin(4 * np.pi / 5))


def twiddles() -> np.ndarray:
    """Stockham twiddles, complex64 [stage, 400]: entry j R + r = exp(-2 pi i k r / (ns R)), with
    R the stage's radix, ns the product of the earlier radices and k = j mod ns."""
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
def _dft4(x0r, x0i, x1r, x1i, x2r, x2i, x3r, x3i):
    """4-point DFT of (x0, x1, x2, x3), as (re, im) pairs of y0, y1, y2, y3."""
    sr, si, dr, di = x0r + x2r, x0i + x2i, x0r - x2r, x0i - x2i
    pr, pi, mr, mi = x1r + x3r, x1i + x3i, x1r - x3r, x1i - x3i
    return sr + pr, si + pi, dr + mi, di - mr, sr - pr, si - pi, dr - mi, di + mr


@njit(fastmath=True, error_model="numpy", cache=True, inline="always")
def _load_radix4(xt, first_frame, window, br, bi) -> None:
    """First pass fused with the load: windowed frames from xt, radix 4 without twiddles."""
    q = N_FFT // 4
    for j in range(q):
        w0, w1, w2, w3 = window[j], window[j + q], window[j + 2 * q], window[j + 3 * q]
        s0 = xt[j % HOP, first_frame + j // HOP :]
        s1 = xt[(j + q) % HOP, first_frame + (j + q) // HOP :]
        s2 = xt[(j + 2 * q) % HOP, first_frame + (j + 2 * q) // HOP :]
        s3 = xt[(j + 3 * q) % HOP, first_frame + (j + 3 * q) // HOP :]
        for t in range(PAIRS):
            u = PAIRS + t  # frame t + P is the imaginary part
            y = _dft4(
                w0 * s0[t], w0 * s0[u], w1 * s1[t], w1 * s1[u],
                w2 * s2[t], w2 * s2[u], w3 * s3[t], w3 * s3[u],
            )  # fmt: skip
            br[4 * j, t], bi[4 * j, t] = y[0], y[1]
            br[4 * j + 1, t], bi[4 * j + 1, t] = y[2], y[3]
            br[4 * j + 2, t], bi[4 * j + 2, t] = y[4], y[5]
            br[4 * j + 3, t], bi[4 * j + 3, t] = y[6], y[7]


@njit(fastmath=True, error_model="numpy", cache=True, inline="always")
def _radix4(ar, ai, br, bi, ns, tw) -> None:
    """One radix-4 Stockham pass over 400-point columns: (ar, ai) -> (br, bi)."""
    q = N_FFT // 4
    for j in range(q):
        out = (j // ns) * ns * 4 + j % ns
        w1, w2, w3 = tw[4 * j + 1], tw[4 * j + 2], tw[4 * j + 3]
        for t in range(PAIRS):
            x1r, x1i = _cmul(ar[j + q, t], ai[j + q, t], w1.real, w1.imag)
            x2r, x2i = _cmul(ar[j + 2 * q, t], ai[j + 2 * q, t], w2.real, w2.imag)
            x3r, x3i = _cmul(ar[j + 3 * q, t], ai[j + 3 * q, t], w3.real, w3.imag)
            y = _dft4(ar[j, t], ai[j, t], x1r, x1i, x2r, x2i, x3r, x3i)
            br[out, t], bi[out, t] = y[0], y[1]
            br[out + ns, t], bi[out + ns, t] = y[2], y[3]
            br[out + 2 * ns, t], bi[out + 2 * ns, t] = y[4], y[5]
            br[out + 3 * ns, t], bi[out + 3 * ns, t] = y[6], y[7]


@njit(fastmath=True, error_model="numpy", cache=True, inline="always")
def _radix5(ar, ai, br, bi, ns, tw) -> None:
    """One radix-5 Stockham pass over 400-point columns: (ar, ai) -> (br, bi)."""
    q = N_FFT // 5
    for j in range(q):
        out = (j // ns) * ns * 5 + j % ns
        w1, w2, w3, w4 = tw[5 * j + 1], tw[5 * j + 2], tw[5 * j + 3], tw[5 * j + 4]
        for t in range(PAIRS):
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
def block_power(xt, first_frame, window, tw, power, col) -> None:
    """4 |rfft(window * frame f)|^2 -> power[:, col + t] for the 2 P frames f = first_frame + t.

    xt: the padded signal x as float32 [160, rows], xt[c, r] = x[160 r + c], so sample n of
    frame f is xt[n % 160, f + n // 160] and consecutive frames are contiguous.
    power: float32 [201, >= col + 2 P].
    """
    ar = np.empty((N_FFT, PAIRS), dtype=np.float32)
    ai = np.empty_like(ar)
    br = np.empty_like(ar)
    bi = np.empty_like(ar)
    _load_radix4(xt, first_frame, window, ar, ai)
    _radix4(ar, ai, br, bi, 4, tw[1])
    _radix5(br, bi, ar, ai, 16, tw[2])
    _radix5(ar, ai, br, bi, 80, tw[3])
    # z = a + i b: 4 |A[k]|^2 = |Z[k] + conj Z[-k]|^2 and 4 |B[k]|^2 = |Z[k] - conj Z[-k]|^2.
    for k in range(N_FFT // 2 + 1):
        m = N_FFT - k if k > 0 else 0
        real_frames = power[k, col : col + PAIRS]
        imag_frames = power[k, col + PAIRS : col + 2 * PAIRS]
        for t in range(PAIRS):
            zr, zi, cr, ci = br[k, t], bi[k, t], br[m, t], bi[m, t]
            real_frames[t] = (zr + cr) * (zr + cr) + (zi - ci) * (zi - ci)
            imag_frames[t] = (zr - cr) * (zr - cr) + (zi + ci) * (zi + ci)
