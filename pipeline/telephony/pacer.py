"""Paces a leg's outgoing audio: one 20 ms packet of queued agent PCM on every tick.

In: agent PCM via `write` (any length), `clear` on barge-in. Out: `send(chunk)` called every
20 ms with the next 320 bytes (the last chunk zero-padded), or b"" when nothing is queued; the
leg decides what idle means (RTP sends silence, AudioSocket sends nothing).

Every started pacer of an event loop ticks on that loop's one packet clock (`PacketClock`):
one task wakes every 20 ms and sends each leg its packet, where a task per leg would wake as
often for each call. Ticks follow the clock, not the loop's delays; after a stall the clock
skips ahead rather than bursting. A pacer started between ticks sends its first packet on the
next one (within 20 ms). A leg whose `send` raises is logged and the other legs still tick.
"""

import asyncio
import logging
import weakref
from collections.abc import Callable

from pipeline.telephony.call_media import PACKET_BYTES

log = logging.getLogger(__name__)

PACKET_S = 0.02
MAX_LAG_S = 0.2  # behind by more than this: skip ahead


class Pacer:
    def __init__(self, send: Callable[[bytes], None]) -> None:
        self._send = send
        self._outbox = bytearray()
        self._clock: PacketClock | None = None

    @property
    def queued(self) -> int:
        """Bytes of agent audio not yet sent."""
        return len(self._outbox)

    def write(self, pcm: bytes) -> None:
        self._outbox.extend(pcm)

    def clear(self) -> None:
        self._outbox.clear()

    def start(self) -> None:
        if self._clock is None:
            self._clock = packet_clock()
            self._clock.add(self)

    async def stop(self) -> None:
        if self._clock is not None:
            self._clock.remove(self)
        self._outbox.clear()

    def tick(self) -> None:
        """Send the next packet (b"" when nothing is queued)."""
        chunk = bytes(self._outbox[:PACKET_BYTES])
        del self._outbox[:PACKET_BYTES]
        self._send(chunk.ljust(PACKET_BYTES, b"\0") if chunk else b"")


class PacketClock:
    """Ticks every added pacer every 20 ms from one task, which runs while any pacer is added."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pacers: dict[Pacer, None] = {}  # insertion-ordered set
        self._task: asyncio.Task | None = None

    def add(self, pacer: Pacer) -> None:
        self._pacers[pacer] = None
        if self._task is None or self._task.done():
            self._task = self._loop.create_task(self._run())

    def remove(self, pacer: Pacer) -> None:
        self._pacers.pop(pacer, None)

    async def _run(self) -> None:
        loop = self._loop
        due = loop.time()
        while self._pacers:
            due += PACKET_S
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -MAX_LAG_S:
                due = loop.time()
            for pacer in list(self._pacers):
                if pacer in self._pacers:  # not stopped by an earlier leg's send
                    try:
                        pacer.tick()
                    except Exception:
                        log.exception("a leg's packet send failed")
        self._task = None


_CLOCKS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PacketClock]" = (
    weakref.WeakKeyDictionary()
)


def packet_clock() -> PacketClock:
    """The running event loop's PacketClock."""
    loop = asyncio.get_running_loop()
    clock = _CLOCKS.get(loop)
    if clock is None:
        clock = _CLOCKS[loop] = PacketClock(loop)
    return clock
