"""Paces a leg's outgoing audio: one 20 ms packet of queued agent PCM on every tick.

In: agent PCM via `write` (any length), `clear` on barge-in. Out: `send(chunk)` called every
20 ms with the next 320 bytes (the last chunk zero-padded), or b"" when nothing is queued; the
leg decides what idle means (RTP sends silence, AudioSocket sends nothing). Ticks follow the
clock, not the loop's delays; after a stall it skips ahead rather than bursting.
"""

import asyncio
from collections.abc import Callable

from pipeline.telephony.call_media import PACKET_BYTES

PACKET_S = 0.02
MAX_LAG_S = 0.2  # behind by more than this: skip ahead


class Pacer:
    def __init__(self, send: Callable[[bytes], None]) -> None:
        self._send = send
        self._outbox = bytearray()
        self._task: asyncio.Task | None = None

    @property
    def queued(self) -> int:
        """Bytes of agent audio not yet sent."""
        return len(self._outbox)

    def write(self, pcm: bytes) -> None:
        self._outbox.extend(pcm)

    def clear(self) -> None:
        self._outbox.clear()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._outbox.clear()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += PACKET_S
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -MAX_LAG_S:
                due = loop.time()
            chunk = bytes(self._outbox[:PACKET_BYTES])
            del self._outbox[:PACKET_BYTES]
            self._send(chunk.ljust(PACKET_BYTES, b"\0") if chunk else b"")
