"""WAV headers in `Recognize` requests: Riva reads the format from the file when it can.

In: request audio bytes. Out: (AudioFormat, sample bytes) when they are a RIFF/WAVE file,
None when they are raw samples. Understands 16-bit PCM, mu-law and A-law WAV files.
"""

import struct

from pipeline.speech.audio import ALAW, LINEAR_PCM, MULAW, AudioFormat, audio_format
from pipeline.speech.errors import invalid

_WAVE_TAGS = {1: LINEAR_PCM, 6: ALAW, 7: MULAW, 0xFFFE: LINEAR_PCM}  # 0xFFFE: extensible


def split_wav(data: bytes) -> tuple[AudioFormat, bytes] | None:
    """Read a WAV file's format and samples; None when `data` is not a WAV file."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    fmt: AudioFormat | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, pos)
        body = data[pos + 8 : pos + 8 + size]
        if chunk_id == b"fmt ":
            fmt = _read_fmt(body)
        elif chunk_id == b"data":
            if fmt is None:
                raise invalid("WAV file has its data chunk before its fmt chunk")
            return fmt, body
        pos += 8 + size + (size & 1)
    raise invalid("WAV file has no data chunk")


def _read_fmt(body: bytes) -> AudioFormat:
    if len(body) < 16:
        raise invalid("WAV fmt chunk is too short")
    tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
    encoding = _WAVE_TAGS.get(tag)
    if encoding is None:
        raise invalid(f"WAV format tag {tag} is not supported; use PCM, mu-law or A-law")
    if encoding == LINEAR_PCM and bits != 16:
        raise invalid(f"WAV PCM with {bits} bits per sample is not supported; use 16-bit")
    return audio_format(encoding, rate, channels)
