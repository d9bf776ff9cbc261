"""A bot transfer by REFER (RFC 3515): ask the caller's side to call the target instead.

In: the call's dialog, the configured target (`agent.sip_transfer_target`: a SIP URI, or a
bare extension dialled at the host that sent the INVITE: the allowed PBX or SBC, never a host
named in the caller's headers), and the caller's NOTIFYs about how the transfer went. Out:
REFER sent (with the call's context headers, `context_headers`); `run` returns once the
transfer is reported done, refused, or not reported within TRANSFER_WAIT_S (the call then
gets its BYE either way).
"""

import asyncio
import logging
from collections.abc import Mapping, Sequence

from pipeline.telephony.sip.dialog import Dialog
from pipeline.telephony.sip.message import SipMessage

log = logging.getLogger(__name__)

TRANSFER_WAIT_S = 10.0  # how long the transferee may take to report before we hang up
UUI_MAX_OCTETS = 128  # ISDN user-to-user information, protocol discriminator included
IA5 = b"\x04"  # the ISDN UUI protocol discriminator for IA5 (ASCII) characters
X_HEADER_PREFIX = "X-Switchboard-"


def _plain(value: str) -> str:
    """`value` with only printable ASCII, no ';' or ',' (safe in a header and in UUI)."""
    return "".join(c for c in str(value) if " " <= c <= "~" and c not in ";,")


def context_headers(fields: Mapping[str, str], style: str) -> list[tuple[str, str]]:
    """The REFER's context headers for `fields` (e.g. call_id, intent, order_number):
    "uui" one RFC 7433 User-to-User header, hex-encoded ISDN UUI (IA5 discriminator, then
    `name=value` pairs joined with ';', cut to UUI_MAX_OCTETS); "x-headers" one
    X-Switchboard-<Name> header per non-empty field; "none" nothing."""
    pairs = [(name, _plain(value)) for name, value in fields.items() if value]
    if style == "x-headers":
        return [(X_HEADER_PREFIX + name.replace("_", "-").title(), v) for name, v in pairs]
    if style != "uui" or not pairs:
        return []
    data = (IA5 + ";".join(f"{n}={v}" for n, v in pairs).encode("ascii"))[:UUI_MAX_OCTETS]
    return [("User-to-User", f"{data.hex()};encoding=hex;purpose=isdn-uui;content=isdn-uui")]


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

    async def run(self, target: str, context: Sequence[tuple[str, str]] = ()) -> None:
        """REFER to `target`, carrying the `context` headers (`context_headers`)."""
        uri = refer_target(target, self.dialog.peer.host)
        call_id = self.dialog.call_id
        headers = [("Refer-To", f"<{uri}>"), ("Referred-By", self.dialog.contact), *context]
        answer = await self.dialog.request("REFER", headers)
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
