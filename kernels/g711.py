"""G.711 mu-law and A-law codecs (ITU-T G.711), table based, pure numpy.

In: int16 PCM samples (encode) or 8-bit code bytes as uint8 (decode). Out: the other one.
The tables are built once at import from the reference algorithm (the same one as the Sun
reference code and CPython's deprecated `audioop`), so every call is a single table lookup.
"""

import numpy as np

_SEG_ULAW_END = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_SEG_ALAW_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159  # in 14-bit magnitude


def _segment(magnitude: np.ndarray, seg_end: np.ndarray) -> np.ndarray:
    """Index of the first segment whose end is >= magnitude (8 when beyond the last)."""
    return np.searchsorted(seg_end, magnitude, side="left")


def _build_ulaw_encode() -> np.ndarray:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2  # 14-bit
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(pcm), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = _segment(magnitude, _SEG_ULAW_END)
    code = (seg << 4) | ((magnitude >> (np.minimum(seg, 7) + 1)) & 0xF)
    code = np.where(seg >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _build_ulaw_decode() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _ULAW_BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS).astype(np.int16)


def _build_alaw_encode() -> np.ndarray:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 3  # 13-bit
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    magnitude = np.where(pcm >= 0, pcm, -pcm - 1)
    seg = _segment(magnitude, _SEG_ALAW_END)
    shift = np.where(seg < 2, 1, np.minimum(seg, 7))
    code = (seg << 4) | ((magnitude >> shift) & 0xF)
    code = np.where(seg >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _build_alaw_decode() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = ((a & 0x0F) << 4) + np.where(seg == 0, 8, 0x108)
    t = t << np.maximum(seg - 1, 0)
    return np.where(a & 0x80, t, -t).astype(np.int16)


_ULAW_ENCODE = _build_ulaw_encode()
_ULAW_DECODE = _build_ulaw_decode()
_ALAW_ENCODE = _build_alaw_encode()
_ALAW_DECODE = _build_alaw_decode()


def ulaw_encode(pcm: np.ndarray) -> np.ndarray:
    """int16 samples -> mu-law codes (uint8), one per sample."""
    return _ULAW_ENCODE[pcm.astype(np.int16).view(np.uint16) ^ 0x8000]


def ulaw_decode(codes: np.ndarray) -> np.ndarray:
    """mu-law codes (uint8) -> int16 samples."""
    return _ULAW_DECODE[codes.astype(np.uint8)]


def alaw_encode(pcm: np.ndarray) -> np.ndarray:
    """int16 samples -> A-law codes (uint8), one per sample."""
    return _ALAW_ENCODE[pcm.astype(np.int16).view(np.uint16) ^ 0x8000]


def alaw_decode(codes: np.ndarray) -> np.ndarray:
    """A-law codes (uint8) -> int16 samples."""
    return _ALAW_DECODE[codes.astype(np.uint8)]
