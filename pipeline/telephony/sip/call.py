"""One incoming SIP call from INVITE to BYE: offer/answer, the media leg, the handler.

In: an INVITE the server has admitted (allowed peer, authenticated, under capacity), then the
requests the server found inside its dialog (ACK, CANCEL, BYE, re-INVITE, NOTIFY). Out: 180
and 200 with our SDP (`session.py`: the answer, or our offer when the INVITE had none; both
with the request's Record-Route copied, RFC 3261 12.1.1, so a proxy stays on the path), or
488 for SDP we cannot take, 503 with no free RTP port, 487 when cancelled while ringing; the
media leg handed to the `CallHandler`; BYE or REFER when the bot ends the call. A call
refused or failed before it reached the handler is reported to `on_not_started`. Anything
that goes wrong stays inside this call.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pipeline.telephony.sdp import SdpError
from pipeline.telephony.sip.dialog import Dialog
from pipeline.telephony.sip.handler import (
    CallHandler,
    CallInfo,
    NotStartedHook,
    ignore_not_started,
)
from pipeline.telephony.sip.message import SipMessage
from pipeline.telephony.sip.responses import ALLOW, response
from pipeline.telephony.sip.session import SdpSession
from pipeline.telephony.sip.timers import retransmit
from pipeline.telephony.sip.transfer import Transfer

log = logging.getLogger(__name__)

OpenLeg = Callable[[], Awaitable[Any]]  # -> an RtpLeg (pipeline.telephony.rtp)
Reply = Callable[[SipMessage], bool]  # sends an answer to where its request came from


class SipCall:
    """Runs one call; the server routes the dialog's requests to the on_* methods."""

    def __init__(
        self,
        invite: SipMessage,
        dialog: Dialog,
        send: Callable[[SipMessage], bool],
        open_leg: OpenLeg,
        handler: CallHandler,
        *,
        ring_s: float = 0.0,
        transfer_target: str = "",
        advertise: str,
        on_not_started: NotStartedHook = ignore_not_started,
    ) -> None:
        self.invite, self.dialog, self.send = invite, dialog, send
        self.open_leg, self.handler = open_leg, handler
        self.ring_s, self.transfer_target, self.advertise = ring_s, transfer_target, advertise
        self.on_not_started = on_not_started
        self.state = "early"  # -> confirmed -> ended
        self.leg: Any = None
        self.final: SipMessage | None = None  # our final answer to the INVITE, for retransmits
        self._cancelled = asyncio.Event()
        self._acked = asyncio.Event()
        self.transfer = Transfer(dialog)
        self.sdp = SdpSession(advertise)
        self._ack_wait: asyncio.Task | None = None

    def _answer(self, status: int, **kwargs: Any) -> None:
        """A final answer other than 200: the call never starts."""
        if status != 487:  # a cancelled call was not refused
            self.on_not_started("failed" if status == 500 else "refused")
        self.final = response(self.invite, status, to_tag=self.dialog.local_tag, **kwargs)
        self.send(self.final)

    def _ok(self, request: SipMessage) -> SipMessage:
        """200 with our SDP (the answer, or our offer when the INVITE had none)."""
        headers = [*_record_route(request), ("Contact", self.dialog.contact), ("Allow", ALLOW)]
        headers.append(("Content-Type", "application/sdp"))
        body = self.sdp.body(self.leg.local_port)
        return response(request, 200, to_tag=self.dialog.local_tag, headers=headers, body=body)

    async def run(self) -> None:
        """The whole call; returns when it is over (never raises for the peer's mistakes)."""
        try:
            if await self._set_up():
                await self._talk()
        except Exception:
            log.exception("call %s failed", self.dialog.call_id)
            if self.state == "early":
                self._answer(500)
            elif self.state == "confirmed":
                await self.dialog.request("BYE")
        finally:
            self.state = "ended"
            if self._ack_wait is not None:
                self._ack_wait.cancel()
            if self.leg is not None:
                await self.leg.close()

    async def _set_up(self) -> bool:
        try:
            self.sdp.take(self.invite.body)
        except SdpError as exc:
            self._answer(488, headers=[("Warning", f'399 switchboard "{exc}"')])
            return False
        try:
            self.leg = await self.open_leg()
        except RuntimeError as exc:  # NoRtpPort
            log.warning("call %s: %s", self.dialog.call_id, exc)
            self._answer(503, headers=[("Retry-After", "5")])
            return False
        ringing = _record_route(self.invite)
        self.send(response(self.invite, 180, to_tag=self.dialog.local_tag, headers=ringing))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._cancelled.wait(), self.ring_s)
        if self._cancelled.is_set():
            self._answer(487)
            return False
        self.final = self._ok(self.invite)
        self.state = "confirmed"
        if not self.sdp.awaiting_answer:  # else the ACK brings the caller's answer
            self.sdp.apply(self.leg, start=True)
        reliable = self.dialog.peer.transport == "tcp"
        self._ack_wait = asyncio.create_task(self._await_ack(reliable))
        return True

    async def _await_ack(self, reliable: bool) -> None:
        final = self.final
        if not await retransmit(lambda: self.send(final), self._acked, reliable=reliable):
            log.warning("call %s: no ACK for our 200; hanging up", self.dialog.call_id)
            if self.state == "confirmed":
                await self.leg.close()

    async def _talk(self) -> None:
        peer = self.dialog.peer
        info = CallInfo(
            self.dialog.call_id, self.dialog.remote, self.invite.uri, f"{peer.host}:{peer.port}"
        )
        log.info("call %s: answered (%s)", info.call_id, self.sdp.codec.name)
        outcome = await self.handler(self.leg, info)
        if self.state != "confirmed":
            return  # the caller hung up
        if outcome == "transfer" and self.transfer_target:
            await self.transfer.run(self.transfer_target, info.transfer_context)
        if self.state == "confirmed":
            self.state = "ended"
            await self.leg.close()
            await self.dialog.request("BYE")
            log.info("call %s: we hung up", info.call_id)

    # Requests of this dialog, routed here by the server; `reply` answers the peer that sent
    # it (any allowed peer: behind a proxy, not always the one that sent the INVITE).

    def on_cancel(self) -> None:
        self._cancelled.set()

    def on_ack(self, request: SipMessage) -> None:
        if self.sdp.awaiting_answer and self.leg is not None and not self._acked.is_set():
            try:  # the answer to the offer in our 200
                if not request.body.strip():
                    raise SdpError("the ACK carries no SDP answer")
                self.sdp.take(request.body)
                self.sdp.apply(self.leg, start=True)
            except SdpError as exc:
                log.warning("call %s: %s; hanging up", self.dialog.call_id, exc)
                asyncio.create_task(self.leg.close())
        self._acked.set()

    def on_bye(self, request: SipMessage, reply: Reply) -> None:
        reply(response(request, 200))
        if self.state != "ended":
            log.info("call %s: caller hung up", self.dialog.call_id)
            self.state = "ended"
            self._cancelled.set()  # a BYE while ringing ends it like a CANCEL
            if self.leg is not None:
                asyncio.create_task(self.leg.close())

    def on_notify(self, request: SipMessage, reply: Reply) -> None:
        reply(response(request, 200))
        self.transfer.on_notify(request)

    def on_reinvite(self, request: SipMessage, reply: Reply) -> None:
        """A new offer in the dialog (hold, resume, a new address): update the leg."""
        if self.state != "confirmed" or self.sdp.awaiting_answer:
            reply(response(request, 491))  # the first offer is still being answered
            return
        if not request.body.strip():  # no offer: ours again, unchanged
            reply(self._ok(request))
            return
        try:
            self.sdp.take(request.body)
        except SdpError as exc:
            reply(response(request, 488, headers=[("Warning", f'399 switchboard "{exc}"')]))
            return
        self.sdp.apply(self.leg, start=False)
        reply(self._ok(request))
        log.info("call %s: re-INVITE, we are now %s", self.dialog.call_id, self.sdp.direction)


def _record_route(request: SipMessage) -> list[tuple[str, str]]:
    """The request's Record-Route values, for the answer that makes (or keeps) its dialog."""
    return [("Record-Route", value) for value in request.get_all("Record-Route")]
