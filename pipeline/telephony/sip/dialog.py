"""One SIP dialog as the UAS sees it: who the peer is, and sending requests inside it.

In: the INVITE that created the dialog. Out: whether a request belongs to the dialog (RFC
3261 12.2.2: Call-ID, the caller's From tag and our To tag) or cancels its INVITE; in-dialog
requests (BYE, REFER) sent with UDP retransmission, and their final responses matched back
by Via branch and CSeq.
"""

import asyncio
import logging
from collections.abc import Callable

from pipeline.telephony.sip.header_values import header_param, header_uri
from pipeline.telephony.sip.message import SipMessage
from pipeline.telephony.sip.responses import in_dialog_request, new_tag
from pipeline.telephony.sip.timers import retransmit
from pipeline.telephony.sip.transport import Peer

log = logging.getLogger(__name__)


class Dialog:
    """The identity of a call (Call-ID, tags, the peer's Contact) and our request CSeq."""

    def __init__(
        self, invite: SipMessage, peer: Peer, local_host: str, send: Callable[[SipMessage], bool]
    ) -> None:
        self.call_id = invite.get("Call-ID")
        self.peer = peer
        self.local_host = local_host
        self.local_tag = new_tag()
        self.local = f"{invite.get('To')};tag={self.local_tag}"
        self.remote = invite.get("From")
        self.remote_tag = header_param(self.remote, "tag")
        self.remote_target = header_uri(invite.get("Contact")) or header_uri(self.remote)
        self.remote_cseq = invite.cseq[0]
        self.invite_branch = invite.branch
        self._send = send
        self._cseq = 0
        self._pending: dict[tuple[str, int], tuple[asyncio.Event, list[SipMessage]]] = {}

    def matches(self, request: SipMessage) -> bool:
        """Whether `request` is inside this dialog: same Call-ID, the caller's tag in From,
        ours in To."""
        return (
            request.get("Call-ID") == self.call_id
            and header_param(request.get("From"), "tag") == self.remote_tag
            and header_param(request.get("To"), "tag") == self.local_tag
        )

    def cancels(self, cancel: SipMessage) -> bool:
        """Whether a CANCEL is for the INVITE that made this dialog (RFC 3261 9.2: Call-ID,
        From tag, CSeq number and top Via branch)."""
        return (
            cancel.get("Call-ID") == self.call_id
            and header_param(cancel.get("From"), "tag") == self.remote_tag
            and cancel.cseq[0] == self.remote_cseq
            and cancel.branch == self.invite_branch
        )

    @property
    def contact(self) -> str:
        return f"<sip:switchboard@{self.local_host};transport={self.peer.transport}>"

    async def request(
        self, method: str, headers: list[tuple[str, str]] | None = None
    ) -> SipMessage | None:
        """Send `method` in the dialog; its final response, or None after timer F."""
        self._cseq += 1
        number = self._cseq
        message = in_dialog_request(
            method,
            self.remote_target,
            via_host=self.local_host,
            via_transport=self.peer.transport,
            local=self.local,
            remote=self.remote,
            call_id=self.call_id,
            cseq=number,
            headers=[("Contact", self.contact), *(headers or [])],
        )
        done, answer = asyncio.Event(), []
        key = (message.branch, number)
        self._pending[key] = (done, answer)
        try:
            reliable = self.peer.transport == "tcp"
            await retransmit(lambda: self._send(message), done, reliable=reliable)
        finally:
            self._pending.pop(key, None)
        if not answer:
            log.info("call %s: no answer to %s", self.call_id, method)
        return answer[0] if answer else None

    def on_response(self, response: SipMessage) -> None:
        """A response to one of our requests: final ones complete it, others are noted."""
        pending = self._pending.get((response.branch, response.cseq[0]))
        if pending is not None and response.status >= 200:
            pending[1].append(response)
            pending[0].set()
