"""RFC 4733 telephone-event payloads -> one `Dtmf` per key press.

In: the RTP timestamp and payload of each telephone-event packet. Out: a `Dtmf` the first time
an event is seen, None for its updates, its end packet and the end packet's retransmissions
(all of which carry the same timestamp). Events 16 and up (flash, tones) are not keys: None.
"""

from pipeline.telephony.call_media import DTMF_DIGITS, Dtmf

_REMEMBERED = 16  # recent events kept to recognise late retransmissions


class DtmfEvents:
    def __init__(self) -> None:
        self._seen: list[tuple[int, int]] = []  # (timestamp, event), newest last
        self.malformed = 0

    def feed(self, timestamp: int, payload: bytes) -> Dtmf | None:
        if len(payload) < 4:
            self.malformed += 1
            return None
        event = payload[0]
        key = (timestamp, event)
        if event >= len(DTMF_DIGITS) or key in self._seen:
            return None
        self._seen = [*self._seen[-(_REMEMBERED - 1) :], key]
        return Dtmf(DTMF_DIGITS[event])


def event_payload(event: int, end: bool, duration: int, volume: int = 10) -> bytes:
    """One telephone-event payload (what a phone sends; tests and tools use it)."""
    return bytes([event, (0x80 if end else 0) | (volume & 0x3F)]) + duration.to_bytes(2, "big")
