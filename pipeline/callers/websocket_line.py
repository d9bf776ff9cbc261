"""The caller's end of a Twilio-format WebSocket media stream: a PacedLine over WebSocket.

In: the agent's ws:// URL. Out: a line that sends the caller's 16 kHz int16 speech as
8 kHz mu-law "media" events at the pace of a real phone (20 ms a packet, silence between
utterances, as a phone line never goes quiet), and keeps every packet the agent sends,
with its arrival time, so the caller can tell when the agent speaks and stops. It can key
DTMF digits too.
"""

import asyncio
import base64
import json
import time
import uuid
from dataclasses import dataclass, field

import numpy as np
import websockets

from kernels.g711 import ulaw_decode, ulaw_encode
from pipeline.callers.line import LINE_RATE
from pipeline.callers.paced_line import AgentPacket, PacedLine


@dataclass
class PhoneLine(PacedLine):
    url: str
    stream_sid: str = field(default_factory=lambda: f"MZ{uuid.uuid4().hex}")
    clears: list[float] = field(default_factory=list)  # when the agent flushed its audio

    async def __aenter__(self) -> "PhoneLine":
        self._ws = await websockets.connect(self.url, max_size=None)
        call_sid = f"CA{uuid.uuid4().hex}"
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        media_format = {"encoding": "audio/x-mulaw", "sampleRate": LINE_RATE, "channels": 1}
        start = {"streamSid": self.stream_sid, "callSid": call_sid, "mediaFormat": media_format}
        await self._send({"event": "start", "sequenceNumber": "1", "start": start})
        self._start_pump(self._listen())
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        try:
            await self._send({"event": "stop", "streamSid": self.stream_sid})
            await self._ws.close()
        except websockets.ConnectionClosed:
            pass

    async def _send(self, message: dict) -> None:
        await self._ws.send(json.dumps(message))

    async def press(self, digits: str, gap_s: float = 0.15) -> None:
        """Key DTMF digits, one Twilio "dtmf" event each, `gap_s` apart as fingers press."""
        for digit in digits:
            await self._send(
                {"event": "dtmf", "streamSid": self.stream_sid, "dtmf": {"digit": digit}}
            )
            await asyncio.sleep(gap_s)

    async def _send_audio(self, pcm: np.ndarray) -> bool:
        payload = base64.b64encode(ulaw_encode(pcm).tobytes()).decode()
        message = {"event": "media", "streamSid": self.stream_sid, "media": {"payload": payload}}
        try:
            await self._send(message)
        except websockets.ConnectionClosed:
            return False
        return True

    async def _listen(self) -> None:
        try:
            async for raw in self._ws:
                message = json.loads(raw)
                if message.get("event") == "media":
                    codes = np.frombuffer(base64.b64decode(message["media"]["payload"]), np.uint8)
                    pcm = ulaw_decode(codes)
                    self.packets.append(AgentPacket(time.monotonic(), pcm))
                elif message.get("event") == "clear":
                    self.clears.append(time.monotonic())
        except websockets.ConnectionClosed:
            pass
        self.closed.set()
