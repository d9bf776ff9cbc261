"""SDP offer/answer for one audio stream (RFC 4566, RFC 3264), as a SIP UAS needs it.

In: the SDP body of an INVITE. Out: `SdpOffer` (where to send RTP, which payload types, DTMF,
direction, ptime), the codec we take (`choose_codec`: PCMU, else PCMA) and the answer body
(`build_answer`). A body we cannot use raises `SdpError` saying what is wrong with it (never
another exception): numbers are ASCII digits within their range, an audio port 0 is a stream
declined.
"""

import ipaddress
from dataclasses import dataclass, field

from pipeline.telephony.ascii_number import ascii_number

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_STATIC = {0: ("PCMU", 8000), 3: ("GSM", 8000), 8: ("PCMA", 8000), 9: ("G722", 8000)}
_OPPOSITE = {"sendonly": "recvonly", "recvonly": "sendonly"}
_PREFERRED = ("PCMU", "PCMA")


class SdpError(ValueError):
    """An SDP body that is malformed or offers nothing we can answer."""


@dataclass(frozen=True)
class Codec:
    """An audio payload format: its RTP payload type, encoding name and clock rate."""

    payload_type: int
    name: str
    clock_rate: int = 8000


@dataclass
class SdpOffer:
    """The first usable audio stream of an offer."""

    address: str  # where the caller wants RTP (media-level c= over session-level)
    port: int
    payload_types: list[int]  # in the caller's order of preference
    codecs: dict[int, Codec] = field(default_factory=dict)  # from rtpmap or static types
    dtmf_payload_type: int | None = None  # telephone-event/8000
    direction: str = "sendrecv"
    ptime: int | None = None  # ms

    @property
    def on_hold(self) -> bool:
        """The caller does not want our audio (old-style hold: c=0.0.0.0)."""
        return self.direction in ("sendonly", "inactive") or self.address == "0.0.0.0"


def _show(text: str) -> str:
    """`text` quoted for an error message, at most 60 characters of it."""
    return repr(text[:60])


def _address(value: str, line: str) -> str:
    parts = value.split()
    if len(parts) < 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"bad connection line {_show(line)}: expected 'c=IN IP4 <address>'")
    address = parts[2].split("/")[0]
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise SdpError(
            f"bad connection line {_show(line)}: {_show(address)} is not an IP address"
        ) from None
    return address


def _int(value: str, line: str, what: str, high: int) -> int:
    number = ascii_number(value, high)
    if number is None:
        raise SdpError(f"bad {what} {_show(value)} in {_show(line)} (0 to {high})")
    return number


def _rtpmap(value: str, line: str) -> Codec:
    try:
        pt, encoding = value.split(None, 1)
        name, rate = encoding.strip().split("/")[:2]
    except ValueError:
        raise SdpError(
            f"bad rtpmap {_show(line)}: expected 'a=rtpmap:<pt> <name>/<rate>'"
        ) from None
    return Codec(_int(pt, line, "payload type", 127), name, _int(rate, line, "clock rate", 10**6))


def parse_offer(text: str) -> SdpOffer:
    """The first audio stream with a non-zero port in `text`; SdpError when there is none."""
    if not isinstance(text, str) or not text.strip():
        raise SdpError("empty SDP body")
    lines = [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines[0].startswith("v="):
        raise SdpError(f"SDP must start with 'v=', not {_show(lines[0])}")
    session_address, session_direction = None, "sendrecv"
    offer: SdpOffer | None = None
    media_address: str | None = None
    in_audio = in_media = False
    for line in lines:
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"bad SDP line {_show(line)}: expected '<type>=<value>'")
        kind, value = line[0], line[2:]
        if kind == "m":
            if offer is not None:
                break  # the first usable audio stream is complete
            parts = value.split()
            if len(parts) < 4:
                raise SdpError(f"bad media line {_show(line)}")
            port = _int(parts[1], line, "port", 65535) if parts[0] == "audio" else 0
            in_media, in_audio = True, port != 0
            if in_audio:
                if parts[2] not in ("RTP/AVP", "RTP/AVPF"):
                    raise SdpError(
                        f"unsupported transport {_show(parts[2])}: only RTP/AVP (no SRTP)"
                    )
                pts = [_int(pt, line, "payload type", 127) for pt in parts[3:]]
                offer = SdpOffer("", port, pts, direction=session_direction)
                offer.codecs = {pt: Codec(pt, *_STATIC[pt]) for pt in pts if pt in _STATIC}
        elif kind == "c":
            if not in_media:
                session_address = _address(value, line)
            elif in_audio:
                media_address = _address(value, line)
        elif kind == "a" and (not in_media or in_audio):
            name, _, attr = value.partition(":")
            if name in DIRECTIONS:
                if offer is None:
                    session_direction = name
                else:
                    offer.direction = name
            elif offer is None:
                continue
            elif name == "rtpmap":
                codec = _rtpmap(attr, line)
                offer.codecs[codec.payload_type] = codec
            elif name == "ptime":
                offer.ptime = _int(attr.strip(), line, "ptime", 1000)
    if offer is None:
        raise SdpError("no audio stream in the offer (need an 'm=audio <port> RTP/AVP ...' line)")
    address = media_address or session_address
    if address is None:
        raise SdpError("no connection address (c=) for the audio stream")
    offer.address = address
    for pt in offer.payload_types:
        codec = offer.codecs.get(pt)
        if codec and codec.name.lower() == "telephone-event" and codec.clock_rate == 8000:
            offer.dtmf_payload_type = pt
            break
    return offer


def choose_codec(offer: SdpOffer) -> Codec | None:
    """PCMU if offered at 8 kHz, else PCMA, else None (answer 488 Not Acceptable Here)."""
    for name in _PREFERRED:
        for pt in offer.payload_types:
            codec = offer.codecs.get(pt)
            if codec and codec.name.upper() == name and codec.clock_rate == 8000:
                return codec
    return None


def answer_direction(offer_direction: str) -> str:
    """Our direction for the caller's: sendonly (they hold us) -> recvonly, and so on."""
    return _OPPOSITE.get(offer_direction, offer_direction)


def build_answer(
    offer: SdpOffer,
    codec: Codec,
    local_address: str,
    local_port: int,
    session_id: int,
    direction: str = "sendrecv",
) -> str:
    """The SDP answer: `codec`, telephone-event 0-16 when offered, 20 ms ptime, `direction`."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    family = "IP6" if ":" in local_address else "IP4"
    pts = [codec.payload_type]
    rtpmaps = [f"a=rtpmap:{codec.payload_type} {codec.name}/{codec.clock_rate}"]
    dtmf = offer.dtmf_payload_type
    if dtmf is not None:
        pts.append(dtmf)
        rtpmaps += [f"a=rtpmap:{dtmf} telephone-event/8000", f"a=fmtp:{dtmf} 0-16"]
    lines = [
        "v=0",
        f"o=switchboard {session_id} {session_id} IN {family} {local_address}",
        "s=switchboard",
        f"c=IN {family} {local_address}",
        "t=0 0",
        f"m=audio {local_port} RTP/AVP {' '.join(map(str, pts))}",
        *rtpmaps,
        "a=ptime:20",
        f"a={direction}",
    ]
    return "\r\n".join(lines) + "\r\n"
