"""One SIP dialog as the UAS sees it: who the peer is, and sending requests inside it.

In: the INVITE that created the dialog. Out: whether a request belongs to the dialog (RFC
3261 12.2.2: Call-ID, the caller's From tag and our To tag) or cancels its INVITE; in-dialog
requests (BYE, REFER) sent with UDP retransmission, and their final responses matched back
by Via branch and CSeq. Behind a proxy that record-routes (the INVITE carries Record-Route),
those requests carry the route set as Route headers and go over UDP to the first route's
address (the proxy's Service, so a call outlives the proxy replica that carried its INVITE);
over TCP they go on the connection the INVITE came in on. Without a route set they go to the
peer that sent the INVITE, as a PBX trunk expects.
"""

import asyncio
import logging
import socket
from collections.abc import Callable

from pipeline.telephony.sip.header_values import header_param, header_uri
from pipeline.telephony.sip.message import SipMessage
from pipeline.telephony.sip.responses import in_dialog_request, new_tag
from pipeline.telephony.sip.routing import next_hop, route_set, uri_address
from pipeline.telephony.sip.timers import retransmit
from pipeline.telephony.sip.transport import Peer

log = logging.getLogger(__name__)
SendTo = Callable[[Peer, SipMessage], bool]


class Dialog:
    """The identity of a call (Call-ID, tags, the peer's Contact) and our request CSeq."""

    def __init__(
        self,
        invite: SipMessage,
        peer: Peer,
        local_host: str,
        send: Callable[[SipMessage], bool],
        send_to: SendTo | None = None,
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
        self.route_set = route_set(invite)
        self._send = send
        self._send_to = send_to
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
        hop = next_hop(self.route_set, self.remote_target)
        send = await self._sender(hop.address_uri)
        message = in_dialog_request(
            method,
            hop.request_uri,
            via_host=self.local_host,
            via_transport=self.peer.transport,
            local=self.local,
            remote=self.remote,
            call_id=self.call_id,
            cseq=number,
            headers=[
                *(("Route", route) for route in hop.routes),
                ("Contact", self.contact),
                *(headers or []),
            ],
        )
        done, answer = asyncio.Event(), []
        key = (message.branch, number)
        self._pending[key] = (done, answer)
        try:
            reliable = self.peer.transport == "tcp"
            await retransmit(lambda: send(message), done, reliable=reliable)
        finally:
            self._pending.pop(key, None)
        if not answer:
            log.info("call %s: no answer to %s", self.call_id, method)
        return answer[0] if answer else None

    async def _sender(self, address_uri: str) -> Callable[[SipMessage], bool]:
        """How to send a request whose next hop is `address_uri`: to the peer that sent the
        INVITE, or over UDP to the first route's address (resolved now: it may be a name)."""
        if not self.route_set or self.peer.transport != "udp" or self._send_to is None:
            return self._send
        host, port = uri_address(address_uri)
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except OSError as exc:
            log.warning("call %s: cannot resolve the route %s (%s)", self.call_id, host, exc)
            return self._send
        address = infos[0][4]
        hop, send_to = Peer("udp", address[0], address[1]), self._send_to
        return lambda message: send_to(hop, message)

    def on_response(self, response: SipMessage) -> None:
        """A response to one of our requests: final ones complete it, others are noted."""
        pending = self._pending.get((response.branch, response.cseq[0]))
        if pending is not None and response.status >= 200:
            pending[1].append(response)
            pending[0].set()
