"""A small RTP jitter buffer: puts one stream's packets back in sequence order, drops late and
duplicate ones, and follows the sender when its stream changes.

In: (SSRC, sequence number, payload) as packets arrive; `reset` when the media moves to a new
address. Out: payloads in sequence order, with None standing for a packet given up as lost
(once `depth` later packets wait behind the gap, or when the leg drains the buffer after a
quiet spell). Sequence numbers wrap at 2**16.

Stream changes: packets that do not fit the stream being played (another SSRC, or the same
SSRC behind what was played) are kept as a candidate stream while they follow each other in
sequence; once the candidate proves itself (`PROBATION` packets of a new SSRC, as RFC 3550
A.1 validates a source, or `RESYNC_AFTER` packets of a stream gone backwards) it becomes the
stream and its packets play. One stray or replayed packet never resets the buffer; every
packet of the stream being played ends a candidate. A jump ahead by more than `MAX_JUMP` is a
restarted sender: resynchronised at once. Held packets and candidates are bounded by `depth`
and `RESYNC_AFTER`.
"""

MAX_JUMP = 100  # a jump further ahead than this is a restarted sender: resynchronise
PROBATION = 2  # in-sequence packets of a new SSRC before it takes over
RESYNC_AFTER = 10  # in-sequence late packets (200 ms) before a stream gone backwards is followed
CANDIDATE_STEP = 4  # a candidate's next packet may skip this many minus one (loss, DTMF)


class JitterBuffer:
    def __init__(self, depth: int = 3) -> None:
        self.depth = depth  # packets held behind a gap before it counts as a loss (20 ms each)
        self._ssrc: int | None = None
        self._next: int | None = None
        self._held: dict[int, bytes] = {}
        self._candidate: list[tuple[int, int, bytes]] = []  # (ssrc, sequence, payload)
        self.late = 0  # behind what was already played: late or a duplicate of a played one
        self.duplicates = 0  # a second copy of a packet still held
        self.lost = 0
        self.resyncs = 0  # streams followed: a new SSRC, a jump ahead, a stream gone backwards
        self.strays = 0  # packets of a candidate that never took over

    @property
    def held(self) -> int:
        return len(self._held)

    @property
    def ssrc(self) -> int | None:
        """The SSRC of the stream being played (None before the first packet)."""
        return self._ssrc

    def push(self, ssrc: int, sequence: int, payload: bytes) -> list[bytes | None]:
        """Take one packet; returns the payloads now ready to play, in order."""
        if self._next is None:
            self._ssrc, self._next = ssrc, sequence
        if ssrc != self._ssrc:
            return self._consider(ssrc, sequence, payload, PROBATION)
        ahead = (sequence - self._next) & 0xFFFF
        if ahead >= 0x8000:
            self.late += 1
            return self._consider(ssrc, sequence, payload, RESYNC_AFTER)
        self._forget_candidate()
        if ahead > MAX_JUMP:
            return self._follow([(ssrc, sequence, payload)])
        return self._hold(sequence, payload)

    def drain(self) -> list[bytes | None]:
        """Everything held, in order, gaps given up as lost."""
        return self._release(skip_gaps=True)

    def reset(self) -> list[bytes | None]:
        """The media moved: everything held (as `drain`), and the next packet starts afresh."""
        ready = self.drain()
        self._forget_candidate()
        self._ssrc = self._next = None
        return ready

    def _consider(
        self, ssrc: int, sequence: int, payload: bytes, needed: int
    ) -> list[bytes | None]:
        """A packet that does not fit the stream: keep it as (part of) a candidate stream; the
        candidate takes over once it has `needed` packets in sequence."""
        if self._candidate:
            last_ssrc, last_sequence, _ = self._candidate[-1]
            step = (sequence - last_sequence) & 0xFFFF
            if last_ssrc != ssrc or not 0 < step <= CANDIDATE_STEP:
                self._forget_candidate()
        self._candidate.append((ssrc, sequence, payload))
        if len(self._candidate) < needed:
            return []
        candidate, self._candidate = self._candidate, []
        return self._follow(candidate)

    def _follow(self, packets: list[tuple[int, int, bytes]]) -> list[bytes | None]:
        """Make the stream of `packets` the one played: what was held plays out first."""
        ready = self.drain()
        self.resyncs += 1
        self._ssrc, self._next = packets[0][0], packets[0][1]
        for _, sequence, payload in packets:
            ready += self._hold(sequence, payload)
        return ready

    def _forget_candidate(self) -> None:
        self.strays += len(self._candidate)
        self._candidate.clear()

    def _hold(self, sequence: int, payload: bytes) -> list[bytes | None]:
        if sequence in self._held:
            self.duplicates += 1
            return []
        self._held[sequence] = payload
        return self._release(skip_gaps=False)

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
