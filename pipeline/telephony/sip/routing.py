"""Routing through SIP proxies: the dialog's route set, the next hop, and the top Via.

In: the INVITE that makes a dialog (its Record-Route values), the peer's Contact URI, and each
request as it arrives with its source address. Out: the route set the UAS keeps (RFC 3261
12.1.1: the INVITE's Record-Route values, in order), where a request we send inside the dialog
goes (12.2.1.1: a loose router first on the route set gets Route headers and the packet while
the Request-URI stays the peer's Contact; a strict router becomes the Request-URI; no route
set: the Contact itself), the host and port a SIP URI names, and the top Via of a received
request with `received` and `rport` filled in (RFC 3261 18.2.1, RFC 3581).
"""

from dataclasses import dataclass

from pipeline.telephony.sip.header_values import header_uri
from pipeline.telephony.sip.message import SipMessage

SIP_PORT = 5060


@dataclass(frozen=True)
class NextHop:
    """A request's Request-URI, its Route header values, and the URI whose address it goes to."""

    request_uri: str
    routes: list[str]
    address_uri: str


def route_set(invite: SipMessage) -> list[str]:
    """The UAS's route set: the INVITE's Record-Route values, in order, as they were."""
    return invite.get_all("Record-Route")


def next_hop(routes: list[str], remote_target: str) -> NextHop:
    """Where a request inside the dialog goes, for the route set `routes` (header values)."""
    if not routes:
        return NextHop(remote_target, [], remote_target)
    first = header_uri(routes[0])
    params = (param.partition("=")[0].strip().lower() for param in first.split(";")[1:])
    if "lr" in params:  # a loose router: the Request-URI stays the peer's Contact
        return NextHop(remote_target, list(routes), first)
    # a strict router (RFC 2543): it becomes the Request-URI, the Contact the last Route
    return NextHop(first, [*routes[1:], f"<{remote_target}>"], first)


def uri_address(uri: str) -> tuple[str, int]:
    """(host, port) of a SIP URI such as `sip:user@10.0.0.5:5070;lr` (port 5060 when absent;
    an IPv6 host without its brackets)."""
    rest = uri.split(":", 1)[1] if uri.lower().startswith(("sip:", "sips:")) else uri
    hostport = rest.split(";", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1]
    if hostport.startswith("["):
        host, _, tail = hostport[1:].partition("]")
        port = tail[1:]
    else:
        host, _, port = hostport.partition(":")
    return host, int(port) if port.isdigit() else SIP_PORT


def mark_received(request: SipMessage, host: str, port: int) -> None:
    """Add `received` to the top Via when its sent-by host is not the source address, and
    fill in an empty `rport` with the source port, so the answers name where the request
    really came from (they are sent to that address and port)."""
    for index, (name, value) in enumerate(request.headers):
        if name != "Via":
            continue
        params = value.split(";")
        sent_by = params[0].partition(" ")[2].strip()
        sent_host = sent_by[1:].partition("]")[0] if sent_by.startswith("[") else sent_by
        sent_host = sent_host if sent_by.startswith("[") else sent_host.partition(":")[0]
        names = [p.partition("=")[0].strip().lower() for p in params[1:]]
        if sent_host != host and "received" not in names:
            params.append(f"received={host}")
        params = [f"rport={port}" if p.strip().lower() == "rport" else p for p in params]
        request.headers[index] = (name, ";".join(params))
        return
