"""A minimal SIP caller that times INVITE-to-200 with the monotonic clock (sipp's response
times come in 4 ms steps: too coarse to see a proxy's cost).

In: where to send the INVITE (a proxy or an agent on this machine). Out: the milliseconds from
sending the INVITE to the 200; the call is then ACKed and hung up (BYE, answered 200), both
following the route set of the 200 (Record-Route) to the Contact it names, as a PBX would.
"""

import socket
import time
import uuid

from sip_peers import caller_sockets, sdp, sip_request

from pipeline.telephony.sip.header_values import header_uri
from pipeline.telephony.sip.message import SipMessage, parse


def _answer(sock: socket.socket, status: int, resend: bytes, target: tuple[str, int]) -> SipMessage:
    """The next `status` response (others skipped), resending `resend` every 0.5 s."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            message = parse(sock.recv(65535))
        except TimeoutError:
            sock.sendto(resend, target)
            continue
        if message.status == status:
            return message
    raise TimeoutError(f"no {status} from {target}")


def _in_dialog(method: str, ok: SipMessage, cseq: int, sent_by: str) -> bytes:
    """ACK or BYE inside the dialog of `ok`: to its Contact, with its Record-Route as Route."""
    tag = ok.get("To").split("tag=")[1]
    routes = tuple(f"Route: {route}" for route in ok.get_all("Record-Route"))
    request = sip_request(method, 0, ok.get("Call-ID"), cseq, tag=tag, sent_by=sent_by,
                          headers=routes)  # fmt: skip
    _, rest = request.split(b"\r\n", 1)
    return f"{method} {header_uri(ok.get('Contact'))} SIP/2.0\r\n".encode() + rest


def timed_call(target: tuple[str, int]) -> float:
    """One call to `target`; the INVITE's time to its 200 in milliseconds."""
    with caller_sockets(0.5) as (sig, rtp):
        sent_by = f"127.0.0.1:{sig.getsockname()[1]}"
        call_id = uuid.uuid4().hex
        invite = sip_request("INVITE", target[1], call_id, 1, sdp(rtp.getsockname()[1]),
                             sent_by=sent_by)  # fmt: skip
        start = time.perf_counter()
        sig.sendto(invite, target)
        ok = _answer(sig, 200, invite, target)
        elapsed_ms = (time.perf_counter() - start) * 1000
        sig.sendto(_in_dialog("ACK", ok, 1, sent_by), target)
        bye = _in_dialog("BYE", ok, 2, sent_by)
        sig.sendto(bye, target)
        _answer(sig, 200, bye, target)
        return elapsed_ms
