"""What one call's audio leg looks like to the pipeline, whatever carries it (RTP, AudioSocket).

In: the caller's audio and keypad presses from the wire. Out: the agent's audio to the wire.
Both directions are 8 kHz, 16-bit, mono, little-endian PCM; the leg does the codec and pacing.
"""

from dataclasses import dataclass
from typing import Protocol

DTMF_DIGITS = "0123456789*#ABCD"  # RFC 4733 event codes 0-15, in order
LINE_RATE = 8000  # samples a second on the phone line
PACKET_BYTES = 320  # 20 ms of 8 kHz 16-bit PCM: one RTP packet, one AudioSocket frame


@dataclass(frozen=True)
class Dtmf:
    """One keypad press: "0"-"9", "*", "#" or "A"-"D"."""

    digit: str

    def __post_init__(self) -> None:
        if len(self.digit) != 1 or self.digit not in DTMF_DIGITS:
            raise ValueError(f"not a DTMF digit: {self.digit!r}")


class CallMedia(Protocol):
    """One call's audio leg: 8 kHz 16-bit mono little-endian PCM in both directions."""

    async def read(self) -> bytes | Dtmf | None:
        """Caller audio (any length), a DTMF digit, or None once the leg has ended."""
        ...

    async def write(self, pcm: bytes) -> None:
        """Queue agent audio; the leg paces it out in 20 ms packets."""
        ...

    def clear(self) -> None:
        """Drop queued agent audio (the caller barged in)."""
        ...

    async def close(self) -> None:
        """End the leg; idempotent."""
        ...
