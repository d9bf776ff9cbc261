"""A small RTP jitter buffer: puts packets back in sequence order, drops late and duplicate ones.

In: (sequence number, payload) as packets arrive. Out: payloads in sequence order, with None
standing for a packet given up as lost (once `depth` later packets wait behind the gap, or when
the leg drains the buffer after a quiet spell). Sequence numbers wrap at 2**16.
"""

MAX_JUMP = 100  # a jump further ahead than this is a restarted sender: resynchronise


class JitterBuffer:
    def __init__(self, depth: int = 3) -> None:
        self.depth = depth  # packets held behind a gap before it counts as a loss (20 ms each)
        self._next: int | None = None
        self._held: dict[int, bytes] = {}
        self.late = 0  # behind what was already played: late or a duplicate of a played one
        self.duplicates = 0  # a second copy of a packet still held
        self.lost = 0

    @property
    def held(self) -> int:
        return len(self._held)

    def push(self, sequence: int, payload: bytes) -> list[bytes | None]:
        """Take one packet; returns the payloads now ready to play, in order."""
        if self._next is None:
            self._next = sequence
        ahead = (sequence - self._next) & 0xFFFF
        if ahead >= 0x8000:
            self.late += 1
            return []
        ready: list[bytes | None] = []
        if ahead > MAX_JUMP:
            ready = self.drain()
            self._next = sequence
        if sequence in self._held:
            self.duplicates += 1
            return ready
        self._held[sequence] = payload
        return ready + self._release(skip_gaps=False)

    def drain(self) -> list[bytes | None]:
        """Everything held, in order, gaps given up as lost."""
        return self._release(skip_gaps=True)

    def _release(self, skip_gaps: bool) -> list[bytes | None]:
        ready: list[bytes | None] = []
        while self._held and self._next is not None:
            payload = self._held.pop(self._next, None)
            if payload is None:
                if not skip_gaps and len(self._held) <= self.depth:
                    break
                self.lost += 1
            ready.append(payload)
            self._next = (self._next + 1) & 0xFFFF
        return ready
