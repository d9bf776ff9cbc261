"""Asterisk's end of an AudioSocket call, in Python: the simulated PhoneLine over AudioSocket.

In: the agent's AudioSocket (host, port). Out: the same caller as PhoneLine (speech paced at
20 ms a packet, silence in between, every agent packet kept with its arrival time, DTMF keys),
speaking AudioSocket frames instead of Twilio events: a UUID frame first, then 0x10 audio
(8 kHz slin), 0x03 DTMF and a 0x00 hang-up when it leaves. `hung_up_at` says when the agent
hung up.
"""

import asyncio
import base64
import time
import uuid

import numpy as np

from kernels.g711 import ulaw_decode
from pipeline.callers.paced_line import AgentPacket
from pipeline.callers.websocket_line import PhoneLine
from pipeline.telephony.audiosocket import AUDIO, DTMF, HANGUP, UUID, frame, read_frame


class AudioSocketLine(PhoneLine):
    def __init__(self, address: tuple[str, int], call_id: uuid.UUID | None = None) -> None:
        super().__init__(url=f"tcp://{address[0]}:{address[1]}")
        self.address = address
        self.call_id = call_id or uuid.uuid4()
        self.hung_up_at: float | None = None

    async def __aenter__(self) -> "AudioSocketLine":
        self._reader, self._writer = await asyncio.open_connection(*self.address)
        self._writer.write(frame(UUID, self.call_id.bytes))
        self._outgoing = asyncio.Queue()
        self._tasks = [asyncio.create_task(self._pump()), asyncio.create_task(self._listen())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        if not self._writer.is_closing():
            self._writer.write(frame(HANGUP))
            self._writer.close()

    async def _send(self, message: dict) -> None:
        """PhoneLine's Twilio events, as AudioSocket frames (media as 16-bit PCM)."""
        if self._writer.is_closing():
            return
        if message["event"] == "media":
            codes = np.frombuffer(base64.b64decode(message["media"]["payload"]), np.uint8)
            self._writer.write(frame(AUDIO, ulaw_decode(codes).astype("<i2").tobytes()))
        elif message["event"] == "dtmf":
            self._writer.write(frame(DTMF, message["dtmf"]["digit"].encode()))
        try:
            await self._writer.drain()
        except ConnectionError:
            self.closed.set()

    async def _listen(self) -> None:
        try:
            while True:
                kind, payload = await read_frame(self._reader)
                if kind == AUDIO:
                    pcm = np.frombuffer(payload, "<i2")
                    self.packets.append(AgentPacket(time.monotonic(), pcm))
                elif kind == HANGUP:
                    self.hung_up_at = time.monotonic()
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        self.closed.set()
