"""Building SIP responses to requests and new requests inside a dialog (RFC 3261 8.2.6, 12.2).

In: the request being answered (or the dialog's identity). Out: a `SipMessage` ready to send.
"""

import secrets

from pipeline.telephony.sip.header_values import header_param
from pipeline.telephony.sip.message import SipMessage

SERVER = "switchboard"
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, REFER, NOTIFY"
REASONS = {
    100: "Trying", 180: "Ringing", 200: "OK", 202: "Accepted", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 405: "Method Not Allowed", 420: "Bad Extension",
    481: "Call/Transaction Does Not Exist", 482: "Loop Detected", 486: "Busy Here",
    487: "Request Terminated", 488: "Not Acceptable Here", 491: "Request Pending",
    500: "Server Internal Error", 503: "Service Unavailable",
}  # fmt: skip


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def response(
    request: SipMessage,
    status: int,
    *,
    reason: str = "",
    to_tag: str = "",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> SipMessage:
    """The response `status` to `request`: Via, From, To (with `to_tag` added when it has
    none), Call-ID and CSeq copied, then `headers`."""
    to = request.get("To")
    if to_tag and not header_param(to, "tag"):
        to = f"{to};tag={to_tag}"
    copied = [("Via", via) for via in request.get_all("Via")]
    copied += [
        ("From", request.get("From")),
        ("To", to),
        ("Call-ID", request.get("Call-ID")),
        ("CSeq", request.get("CSeq")),
        ("Server", SERVER),
    ]
    return SipMessage(
        status=status,
        reason=reason or REASONS.get(status, "Unknown"),
        headers=[(name, value) for name, value in copied if value] + (headers or []),
        body=body,
    )


def in_dialog_request(
    method: str,
    target: str,
    *,
    via_host: str,
    via_transport: str,
    local: str,
    remote: str,
    call_id: str,
    cseq: int,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> SipMessage:
    """A request we send inside a dialog: `local` is our From (with our tag), `remote` the
    peer's (with its tag), `target` the peer's Contact URI."""
    return SipMessage(
        method=method,
        uri=target,
        headers=[
            ("Via", f"SIP/2.0/{via_transport.upper()} {via_host};branch={new_branch()};rport"),
            ("Max-Forwards", "70"),
            ("From", local),
            ("To", remote),
            ("Call-ID", call_id),
            ("CSeq", f"{cseq} {method}"),
            ("User-Agent", SERVER),
            *(headers or []),
        ],
        body=body,
    )
