"""The caller's end of a Twilio-format WebSocket media stream: a phone line in Python.

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
import soxr
import websockets

from kernels.g711 import ulaw_decode, ulaw_encode

LINE_RATE = 8000
PACKET_S = 0.02
PACKET = int(LINE_RATE * PACKET_S)  # samples per media event
SPEECH_RMS = 300  # int16 RMS above which an agent packet counts as speech


@dataclass
class AgentPacket:
    at: float  # time.monotonic() when it arrived
    pcm: np.ndarray  # int16 at 8 kHz

    @property
    def speech(self) -> bool:
        return float(np.sqrt(np.mean(self.pcm.astype(np.float64) ** 2))) > SPEECH_RMS


@dataclass
class PhoneLine:
    url: str
    stream_sid: str = field(default_factory=lambda: f"MZ{uuid.uuid4().hex}")
    packets: list[AgentPacket] = field(default_factory=list)
    clears: list[float] = field(default_factory=list)  # when the agent flushed its audio
    # How late each packet went out after its 20 ms slot (seconds): a busy caller's own lag,
    # which the agent cannot tell from its own.
    send_lag: list[float] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> "PhoneLine":
        self._ws = await websockets.connect(self.url, max_size=None)
        call_sid = f"CA{uuid.uuid4().hex}"
        await self._send({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        media_format = {"encoding": "audio/x-mulaw", "sampleRate": LINE_RATE, "channels": 1}
        start = {"streamSid": self.stream_sid, "callSid": call_sid, "mediaFormat": media_format}
        await self._send({"event": "start", "sequenceNumber": "1", "start": start})
        self._outgoing: asyncio.Queue[np.ndarray | asyncio.Future] = asyncio.Queue()
        self._tasks = [asyncio.create_task(self._pump()), asyncio.create_task(self._listen())]
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

    async def say(self, pcm16k: np.ndarray) -> tuple[float, float]:
        """Send caller audio (int16, 16 kHz) at the line's pace; returns when all of it has
        gone out (or the agent hung up), with the times its first and last packets were sent."""
        audio = soxr.resample(pcm16k.astype(np.float32), 16000, LINE_RATE, quality="HQ")
        audio = np.clip(audio, -32768, 32767).astype(np.int16)
        if self.closed.is_set():  # the agent hung up: nothing goes out
            now = time.monotonic()
            return now, now
        loop = asyncio.get_running_loop()
        first, last = loop.create_future(), loop.create_future()
        await self._outgoing.put(first)
        for start in range(0, len(audio), PACKET):
            await self._outgoing.put(audio[start : start + PACKET])
        await self._outgoing.put(last)
        return await first, await last

    async def press(self, digits: str, gap_s: float = 0.15) -> None:
        """Key DTMF digits, one Twilio "dtmf" event each, `gap_s` apart as fingers press."""
        for digit in digits:
            await self._send(
                {"event": "dtmf", "streamSid": self.stream_sid, "dtmf": {"digit": digit}}
            )
            await asyncio.sleep(gap_s)

    async def _pump(self) -> None:
        """Send one packet every 20 ms: queued speech, else silence."""
        silence = np.zeros(PACKET, dtype=np.int16)
        next_at = time.monotonic()
        while True:
            item = self._outgoing.get_nowait() if not self._outgoing.empty() else silence
            if isinstance(item, asyncio.Future):
                item.set_result(time.monotonic())
                continue
            payload = base64.b64encode(ulaw_encode(item).tobytes()).decode()
            message = {
                "event": "media",
                "streamSid": self.stream_sid,
                "media": {"payload": payload},
            }
            self.send_lag.append(time.monotonic() - next_at)
            try:
                await self._send(message)
            except websockets.ConnectionClosed:
                self._hung_up()
                return
            next_at += PACKET_S
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    def _hung_up(self) -> None:
        """The agent closed the line: what is still queued is never sent, so a say() waiting
        on it returns now (its utterance cut off where the line went dead)."""
        self.closed.set()
        while not self._outgoing.empty():
            item = self._outgoing.get_nowait()
            if isinstance(item, asyncio.Future) and not item.done():
                item.set_result(time.monotonic())

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

    def speech_since(self, since: float) -> list[AgentPacket]:
        return [p for p in self.packets if p.at >= since and p.speech]

    async def wait_agent_turn(
        self, since: float, quiet_s: float = 1.5, timeout_s: float = 60.0
    ) -> list[AgentPacket]:
        """The agent's packets from its first speech after `since` until it has been quiet
        for `quiet_s` (or the line closed); [] when it said nothing within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            spoken = self.speech_since(since)
            now = time.monotonic()
            if spoken and (now - spoken[-1].at > quiet_s or self.closed.is_set()):
                return [p for p in self.packets if spoken[0].at <= p.at <= spoken[-1].at]
            if self.closed.is_set() and not spoken:
                return []
            await asyncio.sleep(0.05)
        spoken = self.speech_since(since)
        return [p for p in self.packets if spoken and spoken[0].at <= p.at <= spoken[-1].at]
