"""One call's SDP offer/answer state (RFC 3264) and what it means for the RTP leg.

In: the caller's SDP bodies: the INVITE's offer, or none (a delayed offer: our 200 then
carries an offer and the ACK the caller's answer), and re-INVITE offers (hold, resume, a new
address). Out: the SDP body we send, the codec, and the leg started or updated to the
caller's address and our direction. A body we cannot use raises `SdpError` saying why.
"""

import random
from typing import TYPE_CHECKING

from pipeline.telephony.sdp import (
    Codec,
    SdpError,
    SdpOffer,
    answer_direction,
    build_answer,
    choose_codec,
    parse_offer,
)

if TYPE_CHECKING:
    from pipeline.telephony.rtp import RtpLeg

OUR_CODEC = Codec(0, "PCMU", 8000)  # what we offer when the caller offers nothing
OUR_DTMF = 101  # the telephone-event payload type we offer


class SdpSession:
    def __init__(self, advertise: str) -> None:
        self.advertise = advertise
        self.session_id = random.randrange(1, 2**31)
        self.remote: SdpOffer | None = None  # the caller's last SDP (an offer or an answer)
        self.codec: Codec | None = None

    @property
    def awaiting_answer(self) -> bool:
        """We offered (the INVITE had no SDP) and the caller has not answered yet."""
        return self.remote is None

    @property
    def direction(self) -> str:
        """Ours: the caller's sendonly (hold) is our recvonly, and so on."""
        return answer_direction(self.remote.direction) if self.remote else "sendrecv"

    def take(self, body: bytes) -> None:
        """The caller's SDP; an empty body before any SDP means we offer (PCMU)."""
        if not body.strip():
            if self.remote is None:
                self.codec = OUR_CODEC
                return
            raise SdpError("no SDP in the request")
        sdp = parse_offer(body.decode("utf-8", "replace"))
        if self.codec is None:
            self.codec = choose_codec(sdp)
            if self.codec is None:
                raise SdpError("need PCMU or PCMA at 8000 Hz")
        elif not any(_same(codec, self.codec) for codec in sdp.codecs.values()):
            raise SdpError(f"the call uses {self.codec.name}, which this SDP does not offer")
        self.remote = sdp

    def body(self, local_port: int) -> bytes:
        """Our SDP: the answer to the caller's offer, or our offer while awaiting an answer."""
        assert self.codec is not None
        offer = self.remote or SdpOffer("", 0, [], dtmf_payload_type=OUR_DTMF)
        sdp = build_answer(
            offer, self.codec, self.advertise, local_port, self.session_id, self.direction
        )
        return sdp.encode()

    def apply(self, leg: "RtpLeg", *, start: bool) -> None:
        """Point the leg at the caller's address with our direction (`start`: first time)."""
        assert self.remote is not None and self.codec is not None
        remote = (self.remote.address, self.remote.port)
        if start:
            leg.start(remote, self.codec, self.remote.dtmf_payload_type)
        leg.set_remote(remote, self.direction)


def _same(a: Codec, b: Codec) -> bool:
    return a.name.upper() == b.name.upper() and a.clock_rate == b.clock_rate
