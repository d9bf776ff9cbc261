"""The SIP user agent server: admits calls and routes every message to its call.

In: SIP messages from the UDP/TCP listeners (which drop everything from peers outside the
gate's allow-list before it is read). Out: answers to requests that belong to no call
(OPTIONS 200, or 503 while draining or at agent.max_calls; 400 for malformed requests, 481
for requests outside any dialog of ours, 482 for a second INVITE with a Call-ID in use, 405
for other methods, and the refusals of `admission.py`: 420, 403, 401, 503, 486/503) and a
`SipCall` task per admitted INVITE. A request reaches a call only when it is inside its
dialog (Call-ID and both tags; a CANCEL: its INVITE's transaction); with digest
authentication on, a re-INVITE is challenged like the first INVITE. The top Via of each
request gets `received`/`rport` (routing.py); answers go to the address and port the request
came from. Retransmitted requests get the last final answer again (`answers.py`, bounded by
count and bytes; stateless answers are rebuilt rather than kept). An error in one message
or one call never reaches another. Each INVITE refused or failed before it reached the
handler is reported to `on_not_started`.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pipeline.settings import AgentSettings
from pipeline.telephony.call_gate import CallGate, LocalCallGate
from pipeline.telephony.sip.admission import Admission
from pipeline.telephony.sip.answers import AnswerCache
from pipeline.telephony.sip.call import SipCall
from pipeline.telephony.sip.dialog import Dialog
from pipeline.telephony.sip.handler import CallHandler, NotStartedHook, ignore_not_started
from pipeline.telephony.sip.header_values import header_param
from pipeline.telephony.sip.message import SipMessage, SipParseError, parse
from pipeline.telephony.sip.responses import ALLOW, response
from pipeline.telephony.sip.routing import mark_received
from pipeline.telephony.sip.transport import Peer, SipTransport, TcpLimits, local_address

log = logging.getLogger(__name__)
IN_DIALOG = {"ACK", "BYE", "NOTIFY", "INVITE", "REFER", "INFO", "UPDATE"}  # with a To tag


class SipServer:
    """Listens on agent.sip_port; every admitted call runs `handler`."""

    def __init__(
        self,
        settings: AgentSettings,
        handler: CallHandler,
        open_leg: Callable[[], Awaitable[Any]] | None = None,
        gate: CallGate | None = None,
        on_not_started: NotStartedHook = ignore_not_started,
    ) -> None:
        self.settings = settings
        self.handler = handler
        self.on_not_started = on_not_started
        self.open_leg = open_leg or self._open_rtp_leg
        # who may call and whether there is room: the agent's intake, or this server's own
        self.gate = gate or LocalCallGate(settings.allowed_peers, settings.max_calls)
        self.admission = Admission(settings, self.gate)
        self.calls: dict[str, SipCall] = {}
        self._tasks: set[asyncio.Task] = set()
        self.answers = AnswerCache()
        tcp = TcpLimits(
            max_connections=settings.sip_tcp_max_connections,
            max_per_peer=settings.sip_tcp_max_per_peer,
            idle_timeout_s=settings.sip_tcp_idle_timeout_s,
            message_timeout_s=settings.sip_tcp_message_timeout_s,
        )
        self.transport = SipTransport(self._receive, self.gate.allows, tcp)
        self.port = settings.sip_port

    async def start(self) -> None:
        s = self.settings
        await self.transport.start(s.host, s.sip_port, s.sip_transports)
        log.info("sip: listening on %s:%d (%s)", s.host, s.sip_port, "+".join(s.sip_transports))

    async def close(self) -> None:
        """Stop listening and end every call's media (no BYE: the process is going away)."""
        await self.transport.close()
        for call in list(self.calls.values()):
            call.state = "ended"
            if call.leg is not None:
                await call.leg.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _open_rtp_leg(self) -> Any:
        from pipeline.telephony.rtp import RtpLeg

        s = self.settings
        return await RtpLeg.open(s.host, s.rtp_port_min, s.rtp_port_max, s.rtp_timeout_s)

    def active_calls(self) -> int:
        return sum(1 for call in self.calls.values() if call.state != "ended")

    def _send(self, peer: Peer, message: SipMessage, *, remember: bool = True) -> bool:
        """Send `message`; a final answer is kept for retransmissions unless `remember` is
        False (an answer rebuilt the same from the request alone)."""
        data = message.to_bytes()
        if remember and not message.is_request:
            self.answers.remember(message, data)
        return self.transport.send(peer, data)

    def _receive(self, data: bytes, peer: Peer) -> None:
        log.debug("sip: from %s:%d: %r", peer.host, peer.port, data[:80])
        try:
            message = parse(data)
        except SipParseError as exc:
            bad = exc.message
            if bad is not None and bad.is_request and bad.method != "ACK" and bad.get("Via"):
                log.info("sip: 400 to %s:%d: %s", peer.host, peer.port, exc)
                reply = response(bad, 400, reason=f"Bad Request ({exc})"[:120])
                self.transport.send(peer, reply.to_bytes())
            else:
                log.debug(
                    "sip: dropped unparseable message from %s:%d: %s", peer.host, peer.port, exc
                )
            return
        try:
            if message.is_request:
                mark_received(message, peer.host, peer.port)
                self._request(message, peer)
            elif call := self.calls.get(message.get("Call-ID")):
                call.dialog.on_response(message)
        except Exception:
            log.exception("sip: error handling a message from %s:%d", peer.host, peer.port)
            if message.is_request and message.method != "ACK":
                self._send(peer, response(message, 500))

    def _request(self, request: SipMessage, peer: Peer) -> None:
        def send(message: SipMessage) -> bool:
            return self._send(peer, message)

        def reply(status: int, **kwargs: Any) -> None:
            self._send(peer, response(request, status, **kwargs), remember=False)

        method, call = request.method, self.calls.get(request.get("Call-ID"))
        repeat = self.answers.get(request) if method != "ACK" else None
        if repeat is not None:
            self.transport.send(peer, repeat)  # a retransmission
        elif method == "OPTIONS":
            self._options(request, peer)
        elif method == "CANCEL":
            if call is None or not call.dialog.cancels(request):
                reply(481)
                return
            send(response(request, 200))
            call.on_cancel()
        elif method == "INVITE" and not header_param(request.get("To"), "tag"):
            if call is None:
                self._admit(request, peer, send)
            elif request.branch == call.dialog.invite_branch:
                send(response(request, 100))  # the INVITE again, before our final answer
            else:
                reply(482)  # another INVITE with a Call-ID in progress
        elif method not in IN_DIALOG:
            reply(405, headers=[("Allow", ALLOW)])
        elif call is None or not call.dialog.matches(request):
            if method != "ACK":  # an ACK is never answered
                reply(481)
        elif method == "ACK":
            call.on_ack(request)
        elif method == "INVITE":
            if (challenge := self.admission.challenge(request)) is not None:
                self._send(peer, challenge, remember=False)
            else:
                call.on_reinvite(request, send)
        elif method == "BYE":
            call.on_bye(request, send)
        elif method == "NOTIFY":
            call.on_notify(request, send)
        else:
            reply(405, headers=[("Allow", ALLOW)])

    def _options(self, request: SipMessage, peer: Peer) -> None:
        """200 with Allow; 503 while draining or full, so a proxy's probes (a dispatcher's
        OPTIONS) stop choosing this agent until it has room again."""
        refusal = self.gate.refusal(peer.host)
        if refusal in ("draining", "busy"):
            retry = "30" if refusal == "draining" else "5"
            answer = response(request, 503, headers=[("Retry-After", retry)])
        else:
            answer = response(
                request, 200, headers=[("Allow", ALLOW), ("Accept", "application/sdp")]
            )
        self._send(peer, answer, remember=False)

    def _admit(self, invite: SipMessage, peer: Peer, send: Callable[[SipMessage], bool]) -> None:
        refusal = self.admission.refusal(invite, peer.host)
        if refusal is not None:
            counted = refusal.status != 401  # a challenge is not a refusal, and is rebuilt
            if counted:
                self.on_not_started("refused")
            self._send(peer, refusal, remember=counted)  # kept: a retransmission counts once
            return
        send(response(invite, 100))
        local = self.settings.advertise_address or local_address(self.settings.host, peer.host)
        host = f"[{local}]" if ":" in local else local  # an IPv6 address in a URI
        dialog = Dialog(invite, peer, f"{host}:{self.port}", send, send_to=self._send)
        call = SipCall(
            invite, dialog, send, self.open_leg, self.handler,
            ring_s=self.settings.sip_ring_ms / 1000,
            transfer_target=self.settings.sip_transfer_target,
            advertise=local,
            on_not_started=self.on_not_started,
        )  # fmt: skip
        self.calls[dialog.call_id] = call
        release = self.gate.take()
        task = asyncio.create_task(call.run())
        self._tasks.add(task)

        def _done(_task: asyncio.Task) -> None:
            release()
            self._tasks.discard(task)
            if self.calls.get(dialog.call_id) is call:
                self.calls.pop(dialog.call_id)

        task.add_done_callback(_done)
