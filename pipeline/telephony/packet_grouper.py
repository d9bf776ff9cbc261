"""The caller's line packets grouped into longer frames for the pipeline.

In: the line's PCM chunks (20 ms packets, or any length) via `add`. Out: `emit` called with
chunks of `frame_bytes` (what is left over carries to the next one) in order, and with a
shorter chunk when no packet came for `hold_s` or at `flush`.

Every frame the transport pushes costs Pipecat the same per-frame work whatever its length
(a queue hop and observer events at each processor, a hand-off to the ASR stream), so two
20 ms packets a frame halve it. The price is latency: a packet waits for the rest of its
frame (20 ms for a 40 ms frame), and a frame cut short by a gap in the packets waits
`hold_s` past the last one.
"""

import asyncio
from collections.abc import Awaitable, Callable


class PacketGrouper:
    """Groups one leg's caller audio into frames of `frame_bytes`; see the module docstring."""

    def __init__(
        self, frame_bytes: int, hold_s: float, emit: Callable[[bytes], Awaitable[None]]
    ) -> None:
        if frame_bytes <= 0 or hold_s < 0:
            raise ValueError(f"need frame_bytes > 0 and hold_s >= 0, not {frame_bytes}, {hold_s}")
        self._frame_bytes = frame_bytes
        self._hold_s = hold_s
        self._emit = emit
        self._pending = bytearray()
        self._timer: asyncio.TimerHandle | None = None
        self._late: asyncio.Task | None = None  # the timer's partial frame, on its way

    async def add(self, pcm: bytes) -> None:
        """Take `pcm`; emit each whole frame it completes."""
        if self._timer is not None or self._late is not None:
            await self._after_late()
        self._pending += pcm
        while len(self._pending) >= self._frame_bytes:
            frame = bytes(self._pending[: self._frame_bytes])
            del self._pending[: self._frame_bytes]
            await self._emit(frame)
        if self._pending:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._hold_s, self._send_late)

    async def flush(self) -> None:
        """Emit what is pending now (before a key press, at the end of the leg)."""
        await self._after_late()
        if self._pending:
            frame = bytes(self._pending)
            self._pending.clear()
            await self._emit(frame)

    def drop(self) -> None:
        """Forget what is pending and emit nothing more (the leg's reading stopped)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._late is not None:
            self._late.cancel()
            self._late = None
        self._pending.clear()

    def _send_late(self) -> None:
        """No packet came within hold_s: the partial frame goes out on its own."""
        self._timer = None
        frame = bytes(self._pending)
        self._pending.clear()
        self._late = asyncio.get_running_loop().create_task(self._emit(frame))

    async def _after_late(self) -> None:
        """Stop the timer; let a partial frame it sent go first (frames stay in order)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._late is not None:
            late, self._late = self._late, None
            await late
