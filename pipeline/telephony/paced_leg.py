"""The `CallMedia` write/clear/close that every paced leg (RTP, AudioSocket) shares.

In: the agent's PCM via `write`, `clear` on barge-in, `close` any number of times. Out: the PCM
queued on the leg's `Pacer` (until closed), and one shutdown: `_closing`, the pacer stopped,
then `_release` for the leg's own transport.
"""

from typing import ClassVar

from pipeline.telephony.pacer import Pacer


class PacedLeg:
    """Mixin for a leg that sets `self._pacer` and `self._closed = False` in its `__init__`."""

    _pacer: Pacer
    _closed: bool
    # True: the first write starts the pacer (a leg with nothing to send while idle); False:
    # the leg starts it itself (RTP, once the SDP is negotiated).
    _start_pacer_on_write: ClassVar[bool] = False

    async def write(self, pcm: bytes) -> None:
        """Queue agent PCM for the pacer; nothing once the leg is closed."""
        if not self._closed:
            self._pacer.write(pcm)
            if self._start_pacer_on_write:
                self._pacer.start()

    def clear(self) -> None:
        """Drop the agent PCM not yet sent (the caller barged in)."""
        self._pacer.clear()

    async def close(self) -> None:
        """End the leg once: `_closing`, stop the pacer, `_release`; later calls do nothing."""
        if self._closed:
            return
        self._closed = True
        self._closing()
        await self._pacer.stop()
        await self._release()

    def _closing(self) -> None:
        """Runs as the leg closes, before the pacer stops (e.g. cancel timers); default none."""

    async def _release(self) -> None:
        """Runs after the pacer has stopped: close the leg's transport, tell its reader."""
        raise NotImplementedError
