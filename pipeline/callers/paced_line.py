"""What every simulated caller's phone line does, whatever carries it (WebSocket, SIP/RTP).

In: the caller's 16 kHz int16 speech (`say`). Out: one 8 kHz packet every 20 ms on an absolute
clock (queued speech, else silence, as a phone line never goes quiet) handed to the carrier's
`_send_audio`, and the agent's packets, with their arrival times, as the carrier records them
in `packets`. When the agent hangs up, pending `say()` calls return at once.

`PacedLine` is the abstract base of every line: a carrier connects in `__aenter__` (and
starts `_start_pump()`), sends one packet in `_send_audio`, keys DTMF in `press`, and hangs
up in `__aexit__`.
"""

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Self

import numpy as np
import soxr

from pipeline.callers.line import LINE_RATE, PACKET, PACKET_S, PIPELINE_RATE

SPEECH_RMS = 300  # int16 RMS above which an agent packet counts as speech


@dataclass
class AgentPacket:
    at: float  # time.monotonic() when it arrived
    pcm: np.ndarray  # int16 at 8 kHz

    @property
    def speech(self) -> bool:
        return float(np.sqrt(np.mean(self.pcm.astype(np.float64) ** 2))) > SPEECH_RMS


@dataclass(kw_only=True)
class PacedLine(ABC):
    """A caller's phone line: paced sending, the agent's packets as they arrived."""

    packets: list[AgentPacket] = field(default_factory=list)
    # How late each packet went out after its 20 ms slot (seconds): a busy caller's own lag,
    # which the agent cannot tell from its own.
    send_lag: list[float] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    @abstractmethod
    async def __aenter__(self) -> Self:
        """Connect the call and start the pump (`_start_pump`)."""

    @abstractmethod
    async def __aexit__(self, *exc: object) -> None:
        """Stop the pump and hang up."""

    @abstractmethod
    async def _send_audio(self, pcm: np.ndarray) -> bool:
        """Send one 20 ms packet of 8 kHz int16; False when the line is dead."""

    @abstractmethod
    async def press(self, digits: str, gap_s: float = 0.15) -> None:
        """Key DTMF digits, `gap_s` apart."""

    def _start_pump(self, *others: Coroutine[object, object, None]) -> None:
        """Open the outgoing queue and start sending on the line's clock; `self._tasks` are
        the pump and a task for each of the carrier's `others`, for `__aexit__` to cancel."""
        self._outgoing: asyncio.Queue[np.ndarray | asyncio.Future] = asyncio.Queue()
        self._tasks = [asyncio.create_task(job) for job in (self._pump(), *others)]

    async def say(self, pcm16k: np.ndarray) -> tuple[float, float]:
        """Send caller audio (int16, 16 kHz) at the line's pace; returns when all of it has
        gone out (or the agent hung up), with the times its first and last packets were sent."""
        audio = soxr.resample(pcm16k.astype(np.float32), PIPELINE_RATE, LINE_RATE, quality="HQ")
        audio = np.clip(audio, -32768, 32767).astype(np.int16)
        # The last packet is a whole 20 ms, as a phone's: a short one would drop the rest of
        # its slot from the call's audio clock.
        audio = np.pad(audio, (0, -len(audio) % PACKET))
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

    async def _pump(self) -> None:
        """Send one packet every 20 ms: queued speech, else silence."""
        silence = np.zeros(PACKET, dtype=np.int16)
        next_at = time.monotonic()
        while True:
            item = self._outgoing.get_nowait() if not self._outgoing.empty() else silence
            if isinstance(item, asyncio.Future):
                item.set_result(time.monotonic())
                continue
            self.send_lag.append(time.monotonic() - next_at)
            if not await self._send_audio(item):
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
