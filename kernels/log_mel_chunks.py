"""The numba kernel behind kernels.log_mel: log10 mel power of 160-frame chunks, in float32.

In:  clips [B, N] float32 with their mean and 1 / std, and kernels.log_mel's tables.
Out: log10(max(mel power, 1e-10)) [B, 80, N // 160] and the largest value of every chunk.

One parallel job per (clip, 160-frame chunk): build the chunk's normalized, reflect-padded
samples in rows of 160 (`_padded_rows`), take the power spectra of its frames 2 P at a time
(`block_power`: two real frames per complex 400-point Stockham FFT with radices 4, 4, 5, 5 and
the frames as the SIMD axis), project them onto the mel bands, take a polynomial log10.

Every njit function log_mel_chunks calls lives in this file: numba's on-disk cache (cache=True)
only notices edits to the file that defines a function. (The sizes it compiles in come from
kernels.mel_tables and are Whisper's; changing them means clearing the cache.)
Every inner loop runs over frames and must stay vectorized; check with llvmlite.binding.
set_option("", "--pass-remarks=loop-vectorize") after changing one. Traps met: a short loop with
a small body is fully unrolled and left scalar; an index LLVM cannot bound (power[k, col + t])
blocks its alias checks; numba's default error model adds exits that block it.
"""

import numpy as np
from numba import njit, prange

from kernels.mel_tables import HOP, MEL_FLOOR, N_BINS, N_FFT, N_MELS

PAIRS = 16  # frame pairs per FFT block: 2 AVX2 registers of float32 per row
CHUNK = 5 * 2 * PAIRS  # frames per parallel job: 5 FFT blocks, so 800 frames are 5 jobs
RADICES = (4, 4, 5, 5)
_C1, _C2 = np.float32(np.cos(2 * np.pi / 5)), np.float32(np.cos(4 * np.pi / 5))
_S1, _S2 = np.float32(np.sin(2 * np.pi / 5)), np.float32(np.sin(4 * np.pi / 5))


@njit(fastmath=True, error_model="numpy", cache=True, inline="always")
def _cmul(ar, ai, br, bi):
    """(ar + i ai) (br + i bi) as (re, im)."""
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
def log_mel_chunks(audio, mean, scale, window, tw, first_bin, band_width, band_weights, out, top):
    """out[b, m, f] = log10(max(mel power, 1e-10)); top[b, i] = the largest value of chunk i.

    window [400], tw (twiddles) [4, 400], first_bin [80], band_width [80], band_weights [80, w]
    (pre-scaled by 1/4, block_power's factor); out [B, 80, F]; top [B, ceil(F / CHUNK)].
    """
    n_clips, _, n_frames = out.shape
    n_chunks = top.shape[1]
    for job in prange(n_clips * n_chunks):
        b, i = divmod(np.int64(job), n_chunks)
        first = i * CHUNK
        valid = min(CHUNK, n_frames - first)
        xt = np.empty((HOP, CHUNK + N_FFT // HOP), dtype=np.float32)
        _padded_rows(audio[b], mean[b], scale[b], first, xt)
        power = np.empty((N_BINS, CHUNK), dtype=np.float32)
        for col in range(0, CHUNK, 2 * PAIRS):
            block_power(xt, col, window, tw, power, col)
        acc = np.empty(CHUNK, dtype=np.float32)
        logs = np.empty(CHUNK, dtype=np.float32)
        for m in range(N_MELS):
            acc[:] = 0.0
            for k in range(band_width[m]):
                w = band_weights[m, k]
                row = power[first_bin[m] + k]
                for t in range(CHUNK):
                    acc[t] += w * row[t]
            floor = np.float32(MEL_FLOOR)
            for t in range(CHUNK):
                acc[t] = acc[t] if acc[t] > floor else floor
            _log10_positive(acc, logs)
            out[b, m, first : first + valid] = logs[:valid]
        top[b, i] = out[b, :, first : first + valid].max()
