"""A simulated caller's phone line over SIP and RTP: a PacedLine on a real SIP call.

In: the agent's SIP address (`sip:HOST:PORT` or `HOST:PORT`; the caller is on 127.0.0.1).
Out: a line that dials (INVITE with PCMU and telephone-event, 100/180/200, ACK), sends the
caller's speech as RTP PCMU packets every 20 ms on an absolute clock (callers/paced_line.py),
keeps every RTP packet the agent sends (decoded, with its arrival time), keys DTMF as
RFC 4733 events, answers the agent's BYE (the line closes), and hangs up with
BYE on exit. A refused INVITE (486, 503, ...) raises `SipCallRefused`. `call_id` is the SIP
Call-ID; `stream_sid` is the agent's name for the call ("sip-" + Call-ID), as its logs and
transcripts write it.
"""

import asyncio
import secrets
import time
import uuid
from dataclasses import dataclass, field

import numpy as np

from kernels.g711 import ulaw_decode, ulaw_encode
from pipeline.callers.line import PACKET, PACKET_S
from pipeline.callers.paced_line import AgentPacket, PacedLine
from pipeline.callers.sip_signalling import PCMU, SipSocket, ack, agent_address, invite, sdp_offer
from pipeline.telephony import rtp_packet
from pipeline.telephony.call_media import DTMF_DIGITS
from pipeline.telephony.dtmf_events import event_payload
from pipeline.telephony.sdp import parse_offer
from pipeline.telephony.sip.header_values import header_uri
from pipeline.telephony.sip.message import SipMessage
from pipeline.telephony.sip.responses import in_dialog_request, response
from pipeline.telephony.sip.timers import retransmit

ANSWER_TIMEOUT_S = 30.0  # INVITE sent to final answer
BYE_WAIT_S = 2.0
DTMF_PACKETS = 5  # 100 ms of tone, then the end packet three times


class SipCallRefused(RuntimeError):
    """The agent answered the INVITE with a final status other than 2xx."""


class _Rtp(asyncio.DatagramProtocol):
    def __init__(self, line: "SipPhoneLine") -> None:
        self.line = line

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        try:
            packet = rtp_packet.parse(data)
        except ValueError:
            return
        if packet.payload_type == PCMU:
            pcm = ulaw_decode(np.frombuffer(packet.payload, np.uint8))
            self.line.packets.append(AgentPacket(time.monotonic(), pcm))


@dataclass
class SipPhoneLine(PacedLine):
    address: str
    call_id: str = field(default_factory=lambda: f"{uuid.uuid4().hex}@bench")

    @property
    def stream_sid(self) -> str:
        return f"sip-{self.call_id}"

    async def __aenter__(self) -> "SipPhoneLine":
        loop = asyncio.get_running_loop()
        agent = agent_address(self.address)
        self._rtp, _ = await loop.create_datagram_endpoint(
            lambda: _Rtp(self), local_addr=("127.0.0.1", 0)
        )
        self._sip = await SipSocket.open(agent, self._agent_request)
        try:
            await self._dial(agent)
        except BaseException:
            self._rtp.close()
            self._sip.close()
            raise
        self._seq, self._ts, self._ssrc = secrets.randbelow(2**16), 0, secrets.randbits(32)
        self._start_pump()
        return self

    async def _dial(self, agent: tuple[str, int]) -> None:
        rtp_port = self._rtp.get_extra_info("sockname")[1]
        self._invite = invite(
            agent, self._sip.local, self.call_id, sdp_offer("127.0.0.1", rtp_port)
        )
        heard = asyncio.Event()
        sending = asyncio.create_task(
            retransmit(lambda: self._sip.send(self._invite), heard, reliable=False)
        )
        try:
            final = await asyncio.wait_for(self._final(heard), ANSWER_TIMEOUT_S)
        except TimeoutError:
            raise SipCallRefused(f"no final answer to INVITE in {ANSWER_TIMEOUT_S:.0f} s") from None
        finally:
            sending.cancel()
        self._sip.send(ack(self._invite, final))
        if final.status >= 300:
            raise SipCallRefused(f"agent refused the call: {final.status} {final.reason}")
        self._answer = final
        offer = parse_offer(final.body.decode())
        self._remote_rtp = (offer.address, offer.port)
        self._dtmf_pt = offer.dtmf_payload_type

    async def _final(self, heard: asyncio.Event) -> SipMessage:
        while True:
            message = await self._sip.responses.get()
            if message.cseq != (1, "INVITE"):
                continue
            heard.set()  # a provisional answer stops the INVITE's retransmission
            if message.status >= 200:
                return message

    def _agent_request(self, request: SipMessage) -> None:
        if request.method == "BYE":
            self._sip.send(response(request, 200))
            self._hung_up()
        elif request.method != "ACK":
            self._sip.send(response(request, 200 if request.method == "OPTIONS" else 501))

    async def __aexit__(self, *exc: object) -> None:
        for task in self._tasks:
            task.cancel()
        if not self.closed.is_set():
            self.closed.set()
            await self._bye()
        self._rtp.close()
        self._sip.close()

    async def _bye(self) -> None:
        answer = self._answer
        bye = in_dialog_request(
            "BYE",
            header_uri(answer.get("Contact")) or self._invite.uri,
            via_host="{}:{}".format(*self._sip.local),
            via_transport="udp",
            local=self._invite.get("From"),
            remote=answer.get("To"),
            call_id=self.call_id,
            cseq=2,
        )
        self._sip.send(bye)
        deadline = time.monotonic() + BYE_WAIT_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = await asyncio.wait_for(self._sip.responses.get(), left)
            except TimeoutError:
                return
            if message.cseq == (2, "BYE") and message.status >= 200:
                return

    def _send_rtp(self, payload_type: int, payload: bytes, timestamp: int, marker: bool) -> bool:
        if self._rtp.is_closing():
            return False
        packet = rtp_packet.RtpPacket(
            payload_type, self._seq, timestamp, self._ssrc, payload, marker
        )
        self._rtp.sendto(rtp_packet.build(packet), self._remote_rtp)
        self._seq = (self._seq + 1) & 0xFFFF
        return True

    async def _send_audio(self, pcm: np.ndarray) -> bool:
        if self.closed.is_set():
            return False
        sent = self._send_rtp(PCMU, ulaw_encode(pcm).tobytes(), self._ts, False)
        self._ts = (self._ts + PACKET) & 0xFFFFFFFF
        return sent

    async def press(self, digits: str, gap_s: float = 0.15) -> None:
        """Key DTMF digits as RFC 4733 events (100 ms each), `gap_s` apart."""
        if self._dtmf_pt is None:
            raise RuntimeError("the agent's SDP answer has no telephone-event")
        for digit in digits:
            event, started = DTMF_DIGITS.index(digit), self._ts
            for n in range(1, DTMF_PACKETS + 1):
                end = n == DTMF_PACKETS
                for _ in range(3 if end else 1):
                    payload = event_payload(event, end, n * PACKET)
                    self._send_rtp(self._dtmf_pt, payload, started, n == 1)
                await asyncio.sleep(PACKET_S)
            await asyncio.sleep(gap_s)
