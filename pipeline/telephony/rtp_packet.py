"""RTP packets (RFC 3550) and their G.711 payloads.

In: a UDP datagram (`parse`) or the fields of a packet to send (`build`); PCM or G.711 bytes
(`encode_payload`/`decode_payload`). Out: the other one. A datagram that is not RTP version 2,
or is too short for what its header announces, raises ValueError.
"""

import struct
from dataclasses import dataclass

import numpy as np

from kernels.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode

_HEADER = struct.Struct("!BBHII")
_ENCODERS = {"PCMU": ulaw_encode, "PCMA": alaw_encode}
_DECODERS = {"PCMU": ulaw_decode, "PCMA": alaw_decode}
G711 = tuple(_ENCODERS)


@dataclass(frozen=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False


def parse(data: bytes) -> RtpPacket:
    """The packet in `data`; ValueError when it is not a well-formed RTP v2 packet."""
    if len(data) < _HEADER.size:
        raise ValueError(f"{len(data)} bytes is shorter than an RTP header")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != 2:
        raise ValueError(f"RTP version {first >> 6}, expected 2")
    start = _HEADER.size + 4 * (first & 0x0F)  # CSRC list
    if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
        if len(data) < start + 4:
            raise ValueError("truncated RTP header extension")
        start += 4 + 4 * struct.unpack_from("!H", data, start + 2)[0]
    end = len(data)
    if first & 0x20:  # padding: the last byte counts the padding bytes
        if data[-1] == 0:
            raise ValueError("RTP padding count of zero")
        end -= data[-1]
    if end < start:
        raise ValueError("RTP header or padding longer than the packet")
    payload = bytes(data[start:end])
    return RtpPacket(second & 0x7F, sequence, timestamp, ssrc, payload, bool(second & 0x80))


def build(packet: RtpPacket) -> bytes:
    """`packet` as a datagram: no CSRCs, no extension, no padding."""
    second = (0x80 if packet.marker else 0) | packet.payload_type
    header = _HEADER.pack(0x80, second, packet.sequence, packet.timestamp, packet.ssrc)
    return header + packet.payload


def encode_payload(codec: str, pcm: bytes) -> bytes:
    """16-bit little-endian PCM -> G.711 `codec` ("PCMU" or "PCMA") bytes, one per sample."""
    return _ENCODERS[codec](np.frombuffer(pcm, dtype="<i2")).tobytes()


def decode_payload(codec: str, payload: bytes) -> bytes:
    """G.711 `codec` bytes -> 16-bit little-endian PCM."""
    return _DECODERS[codec](np.frombuffer(payload, dtype=np.uint8)).astype("<i2").tobytes()
