"""The SIP user agent server: admits calls and routes every message to its call.

In: SIP messages from the UDP/TCP listeners. Out: answers to requests that belong to no call
(OPTIONS 200, 400 for malformed requests, 481 for unknown dialogs, 405 for other methods,
and the refusals of `admission.py`: 403, 401, 420, 486/503) and a `SipCall` task per admitted
INVITE. Retransmitted requests get the last answer again. An unparseable datagram is
dropped; an error in one message or one call never reaches another. Each INVITE refused or
failed before it reached the handler is reported to `on_not_started`.
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from pipeline.settings import AgentSettings
from pipeline.telephony.sip.admission import Admission
from pipeline.telephony.sip.call import SipCall
from pipeline.telephony.sip.dialog import Dialog
from pipeline.telephony.sip.handler import CallHandler, NotStartedHook, ignore_not_started
from pipeline.telephony.sip.message import SipMessage, SipParseError, parse
from pipeline.telephony.sip.responses import ALLOW, response
from pipeline.telephony.sip.transport import Peer, SipTransport, local_address

log = logging.getLogger(__name__)
REMEMBERED_ANSWERS = 4096


class SipServer:
    """Listens on agent.sip_port; every admitted call runs `handler`."""

    def __init__(
        self,
        settings: AgentSettings,
        handler: CallHandler,
        open_leg: Callable[[], Awaitable[Any]] | None = None,
        accepting: Callable[[], bool] = lambda: True,
        on_not_started: NotStartedHook = ignore_not_started,
    ) -> None:
        self.settings = settings
        self.handler = handler
        self.on_not_started = on_not_started
        self.open_leg = open_leg or self._open_rtp_leg
        # accepting() False: new calls get 503 (the agent is draining)
        self.admission = Admission(settings, self.active_calls, accepting)
        self.calls: dict[str, SipCall] = {}
        self._tasks: set[asyncio.Task] = set()
        self._answers: OrderedDict[tuple[str, str], SipMessage] = OrderedDict()
        self.transport = SipTransport(self._receive)
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

    def _send(self, peer: Peer, message: SipMessage) -> bool:
        if not message.is_request and message.status >= 200 and _rfc3261(message.branch):
            key = (message.branch, message.cseq[1])
            self._answers[key] = message
            while len(self._answers) > REMEMBERED_ANSWERS:
                self._answers.popitem(last=False)
        return self.transport.send(peer, message.to_bytes())

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

        method, call = request.method, self.calls.get(request.get("Call-ID"))
        repeat = self._answers.get((request.branch, method)) if _rfc3261(request.branch) else None
        if repeat is not None and method != "ACK":
            self.transport.send(peer, repeat.to_bytes())  # a retransmission
        elif method == "OPTIONS":
            send(response(request, 200, headers=[("Allow", ALLOW), ("Accept", "application/sdp")]))
        elif method == "ACK":
            if call is not None:
                call.on_ack(request)
        elif method == "CANCEL":
            send(response(request, 200 if call else 481))
            if call is not None:
                call.on_cancel()
        elif call is not None and method in ("BYE", "NOTIFY", "INVITE"):
            if method == "INVITE" and request.branch == call.invite.branch:
                send(response(request, 100))  # the INVITE again, before our final answer
                return
            {"BYE": call.on_bye, "NOTIFY": call.on_notify, "INVITE": call.on_reinvite}[method](
                request
            )
        elif method == "INVITE":
            self._admit(request, peer, send)
        elif method in ("BYE", "NOTIFY", "REFER", "INFO", "UPDATE"):
            send(response(request, 481))
        else:
            send(response(request, 405, headers=[("Allow", ALLOW)]))

    def _admit(self, invite: SipMessage, peer: Peer, send: Callable[[SipMessage], bool]) -> None:
        refusal = self.admission.refusal(invite, peer.host)
        if refusal is not None:
            if refusal.status != 401:  # a challenge, not a refusal
                self.on_not_started("refused")
            send(refusal)
            return
        send(response(invite, 100))
        local = self.settings.advertise_address or local_address(self.settings.host, peer.host)
        host = f"[{local}]" if ":" in local else local  # an IPv6 address in a URI
        dialog = Dialog(invite, peer, f"{host}:{self.port}", send)
        call = SipCall(
            invite, dialog, send, self.open_leg, self.handler,
            ring_s=self.settings.sip_ring_ms / 1000,
            transfer_target=self.settings.sip_transfer_target,
            advertise=local,
            on_not_started=self.on_not_started,
        )  # fmt: skip
        self.calls[dialog.call_id] = call
        task = asyncio.create_task(call.run())
        self._tasks.add(task)

        def _done(_task: asyncio.Task) -> None:
            self._tasks.discard(task)
            if self.calls.get(dialog.call_id) is call:
                self.calls.pop(dialog.call_id)

        task.add_done_callback(_done)


def _rfc3261(branch: str) -> bool:
    """Only branches with RFC 3261's magic cookie identify a transaction on their own."""
    return branch.startswith("z9hG4bK") and len(branch) > 7
