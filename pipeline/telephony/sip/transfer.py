"""A bot transfer by REFER (RFC 3515): ask the caller's side to call the target instead.

In: the call's dialog, the configured target (`agent.sip_transfer_target`: a SIP URI, or a
bare extension dialled at the host that sent the INVITE: the allowed PBX or SBC, never a host
named in the caller's headers), and the caller's NOTIFYs about how the transfer went. Out:
REFER sent; `run` returns once the transfer is reported done, refused, or not reported within
TRANSFER_WAIT_S (the call then gets its BYE either way).
"""

import asyncio
import logging

from pipeline.telephony.sip.dialog import Dialog
from pipeline.telephony.sip.message import SipMessage

log = logging.getLogger(__name__)

TRANSFER_WAIT_S = 10.0  # how long the transferee may take to report before we hang up


def refer_target(target: str, pbx_host: str) -> str:
    """`target` as a URI: "sip:1000@pbx" as it is; "1000" at `pbx_host` (the source address
    of the INVITE), e.g. "sip:1000@10.0.0.5", or "sip:1000@[fd00::5]" for IPv6."""
    if ":" in target:
        return target
    host = f"[{pbx_host}]" if ":" in pbx_host else pbx_host
    return f"sip:{target}@{host}"


class Transfer:
    def __init__(self, dialog: Dialog) -> None:
        self.dialog = dialog
        self._done = asyncio.Event()

    async def run(self, target: str) -> None:
        uri = refer_target(target, self.dialog.peer.host)
        call_id = self.dialog.call_id
        answer = await self.dialog.request(
            "REFER", [("Refer-To", f"<{uri}>"), ("Referred-By", self.dialog.contact)]
        )
        if answer is None or answer.status >= 300:
            status = answer.status if answer else "no answer"
            log.warning("call %s: REFER to %s refused (%s); hanging up", call_id, uri, status)
            return
        log.info("call %s: transferring to %s", call_id, uri)
        try:
            await asyncio.wait_for(self._done.wait(), TRANSFER_WAIT_S)
        except TimeoutError:
            log.info("call %s: no final NOTIFY for the transfer", call_id)

    def on_notify(self, request: SipMessage) -> None:
        """A NOTIFY of the refer subscription: done once it is terminated or reports 2xx."""
        sipfrag = request.body.decode("utf-8", "replace")
        if "terminated" in request.get("Subscription-State") or sipfrag.startswith("SIP/2.0 2"):
            self._done.set()
