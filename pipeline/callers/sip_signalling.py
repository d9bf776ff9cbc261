"""The caller's side of SIP signalling over UDP (RFC 3261 UAC), as a simulated phone needs it.

In: the agent's SIP address and our RTP port. Out: the INVITE (SDP offer PCMU/8000 and
telephone-event/8000), the ACK for a final answer, and a `SipSocket` that sends them and
hands back each message the agent sends (`responses` for answers to our requests, `on_request`
for its own: BYE). Messages are built and parsed with the agent's own SIP code.
"""

import asyncio
import secrets
from collections.abc import Callable
from urllib.parse import urlparse

from pipeline.telephony.sip.header_values import header_uri
from pipeline.telephony.sip.message import SipMessage, SipParseError, parse
from pipeline.telephony.sip.responses import new_branch, new_tag

PCMU, TELEPHONE_EVENT = 0, 101


def agent_address(uri_or_host_port: str) -> tuple[str, int]:
    """(host, port) of `sip:HOST:PORT`, `sip:user@HOST:PORT` or `HOST:PORT`."""
    text = uri_or_host_port.removeprefix("sip:").split(";")[0].rpartition("@")[2]
    parsed = urlparse(f"//{text}")
    if not parsed.hostname or not parsed.port:
        raise ValueError(f"expected sip:HOST:PORT, got {uri_or_host_port!r}")
    return parsed.hostname, parsed.port


def sdp_offer(host: str, rtp_port: int) -> bytes:
    session = secrets.randbelow(2**31)
    lines = [
        "v=0",
        f"o=caller {session} {session} IN IP4 {host}",
        "s=bench caller",
        f"c=IN IP4 {host}",
        "t=0 0",
        f"m=audio {rtp_port} RTP/AVP {PCMU} {TELEPHONE_EVENT}",
        f"a=rtpmap:{PCMU} PCMU/8000",
        f"a=rtpmap:{TELEPHONE_EVENT} telephone-event/8000",
        f"a=fmtp:{TELEPHONE_EVENT} 0-16",
        "a=ptime:20",
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


def invite(agent: tuple[str, int], local: tuple[str, int], call_id: str, sdp: bytes) -> SipMessage:
    host, port = local
    uri = f"sip:agent@{agent[0]}:{agent[1]}"
    return SipMessage(
        method="INVITE",
        uri=uri,
        headers=[
            ("Via", f"SIP/2.0/UDP {host}:{port};branch={new_branch()};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<sip:caller@{host}:{port}>;tag={new_tag()}"),
            ("To", f"<{uri}>"),
            ("Call-ID", call_id),
            ("CSeq", "1 INVITE"),
            ("Contact", f"<sip:caller@{host}:{port}>"),
            ("User-Agent", "switchboard-bench"),
            ("Content-Type", "application/sdp"),
        ],
        body=sdp,
    )


def ack(request: SipMessage, answer: SipMessage) -> SipMessage:
    """The ACK for `answer` to the INVITE `request`: for a 2xx a new transaction sent to the
    agent's Contact, for a refusal the INVITE's own transaction (RFC 3261 17.1.1.3, 13.2.2.4)."""
    via = request.get("Via")
    uri = request.uri
    if answer.status < 300:
        via = via.replace(request.branch, new_branch())
        uri = header_uri(answer.get("Contact")) or uri
    number, _ = request.cseq
    headers = [("Via", via), ("Max-Forwards", "70"), ("From", request.get("From"))]
    headers += [("To", answer.get("To")), ("Call-ID", request.get("Call-ID"))]
    return SipMessage(method="ACK", uri=uri, headers=[*headers, ("CSeq", f"{number} ACK")])


class SipSocket(asyncio.DatagramProtocol):
    """One UDP socket to the agent: responses queue up, requests go to `on_request`."""

    def __init__(self, agent: tuple[str, int], on_request: Callable[[SipMessage], None]) -> None:
        self.agent, self.on_request = agent, on_request
        self.responses: asyncio.Queue[SipMessage] = asyncio.Queue()

    @classmethod
    async def open(
        cls, agent: tuple[str, int], on_request: Callable[[SipMessage], None]
    ) -> "SipSocket":
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(
            lambda: cls(agent, on_request), local_addr=("127.0.0.1", 0)
        )
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]
        self.local: tuple[str, int] = transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        try:
            message = parse(data)
        except SipParseError:
            return
        if message.is_request:
            self.on_request(message)
        else:
            self.responses.put_nowait(message)

    def send(self, message: SipMessage) -> bool:
        if self.transport.is_closing():
            return False
        self.transport.sendto(message.to_bytes(), self.agent)
        return True

    def close(self) -> None:
        self.transport.close()
