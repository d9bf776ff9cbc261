"""Asterisk AudioSocket: one TCP connection per call, as a `CallMedia`.

In: frames of `kind (1 byte) | length (2 bytes, big-endian) | payload` from Asterisk's
`AudioSocket(uuid,host:port)`: 0x01 the call's UUID (first), 0x10 audio (8 kHz 16-bit signed
linear, little-endian), 0x03 a DTMF digit (ASCII), 0x00 hang-up, 0xff an error. Out: the
agent's audio as 0x10 frames of 20 ms, paced in real time, nothing while the agent is silent;
a 0x00 hang-up when the agent ends the call. A malformed or unexpected frame ends that call
with a logged error and a hang-up frame; other calls never notice.
"""

import asyncio
import logging
import struct
import uuid

from pipeline.telephony.call_media import DTMF_DIGITS, Dtmf
from pipeline.telephony.paced_leg import PacedLeg
from pipeline.telephony.pacer import Pacer

log = logging.getLogger(__name__)

HANGUP, UUID, DTMF, AUDIO, ERROR = 0x00, 0x01, 0x03, 0x10, 0xFF
_HEADER = struct.Struct("!BH")


class AudioSocketError(ValueError):
    """The peer sent something that is not an AudioSocket frame this server takes."""


def frame(kind: int, payload: bytes = b"") -> bytes:
    """One AudioSocket frame."""
    return _HEADER.pack(kind, len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The next (kind, payload); IncompleteReadError when the peer closes mid-frame or before."""
    kind, length = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return kind, await reader.readexactly(length)


async def read_call_id(reader: asyncio.StreamReader, timeout_s: float) -> uuid.UUID:
    """The UUID frame that opens every AudioSocket call; AudioSocketError for anything else."""
    kind, payload = await asyncio.wait_for(read_frame(reader), timeout_s)
    if kind != UUID or len(payload) != 16:
        raise AudioSocketError(
            f"expected a UUID frame (kind 0x01, 16 bytes) first, got kind 0x{kind:02x} "
            f"with {len(payload)} bytes"
        )
    return uuid.UUID(bytes=payload)


class AudioSocketLeg(PacedLeg):
    """One accepted AudioSocket connection after its UUID frame (see the module docstring)."""

    _start_pacer_on_write = True  # silence sends nothing, so the pacer runs from the first audio

    def __init__(
        self, call_id: uuid.UUID, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.call_id = call_id
        self.error: str | None = None  # why the leg ended, when the peer broke the protocol
        self._reader, self._writer = reader, writer
        self._pacer = Pacer(self._send_audio)
        self._closed = False

    async def read(self) -> bytes | Dtmf | None:
        while not self._closed:
            try:
                kind, payload = await read_frame(self._reader)
                item = self._decode(kind, payload)
            except (asyncio.IncompleteReadError, ConnectionError):
                break  # the peer went away without a hang-up frame
            except AudioSocketError as exc:
                self.error = str(exc)
                log.error("AudioSocket call %s: %s; hanging up", self.call_id, exc)
                break
            if item is not None:
                return item
            if kind in (HANGUP, ERROR):
                break
        await self.close()
        return None

    def _decode(self, kind: int, payload: bytes) -> bytes | Dtmf | None:
        if kind == AUDIO:
            if len(payload) % 2:
                raise AudioSocketError(f"audio frame of {len(payload)} bytes (odd: not 16-bit)")
            return payload or None
        if kind == DTMF:
            digit = payload.decode("ascii", errors="replace")
            if len(digit) != 1 or digit not in DTMF_DIGITS:
                raise AudioSocketError(f"DTMF frame of {len(payload)} bytes is not one key")
            return Dtmf(digit)
        if kind == ERROR:
            log.warning("AudioSocket call %s: peer reported error %s", self.call_id, payload.hex())
            return None
        if kind == HANGUP:
            log.info("AudioSocket call %s: peer hung up", self.call_id)
            return None
        raise AudioSocketError(f"unknown or unexpected frame kind 0x{kind:02x}")

    async def _release(self) -> None:
        """After the pacer stops: a hang-up frame to the peer (if it still listens), then EOF."""
        try:
            self._writer.write(frame(HANGUP))
            await asyncio.wait_for(self._writer.drain(), 2)
        except (ConnectionError, TimeoutError, RuntimeError):
            pass  # the peer is already gone
        self._writer.close()

    def _send_audio(self, chunk: bytes) -> None:
        if chunk and not self._writer.is_closing():
            self._writer.write(frame(AUDIO, chunk))
