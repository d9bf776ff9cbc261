"""Loose routing behind a SIP proxy (RFC 3261 12.1.1, 12.2.1.1, 16.12), the top Via's
received/rport, and OPTIONS 503 when an agent is full: unit checks and one call over real
sockets, where a test socket plays the record-routing proxy."""

import asyncio
import socket
import time

import pytest
from sip_peers import caller_sockets, sdp, sip_request, start_sip

from pipeline.telephony.sip.handler import EchoHandler
from pipeline.telephony.sip.message import SipMessage, parse
from pipeline.telephony.sip.routing import mark_received, next_hop, uri_address

pytestmark = pytest.mark.timeout(60)


def test_next_hop_loose_strict_and_none():
    contact = "sip:caller@10.0.0.9:5070"
    assert next_hop([], contact).address_uri == contact
    loose = next_hop(["<sip:10.0.0.1;lr>", "<sip:10.0.0.2;lr>"], contact)
    assert loose.request_uri == contact
    assert loose.routes == ["<sip:10.0.0.1;lr>", "<sip:10.0.0.2;lr>"]
    assert loose.address_uri == "sip:10.0.0.1;lr"
    strict = next_hop(["<sip:10.0.0.1>", "<sip:10.0.0.2;lr>"], contact)
    assert strict.request_uri == "sip:10.0.0.1"
    assert strict.routes == ["<sip:10.0.0.2;lr>", f"<{contact}>"]


@pytest.mark.parametrize(
    ("uri", "address"),
    [
        ("sip:10.0.0.1;lr", ("10.0.0.1", 5060)),
        (
            "sip:proxy@sb-sip-proxy.voice.svc:5070;lr;transport=udp",
            ("sb-sip-proxy.voice.svc", 5070),
        ),
        ("sip:[fd00::5]:5062;lr", ("fd00::5", 5062)),
    ],
)
def test_uri_address(uri, address):
    assert uri_address(uri) == address


def test_mark_received_fills_received_and_rport():
    request = SipMessage(method="OPTIONS", uri="sip:a", headers=[
        ("Via", "SIP/2.0/UDP proxy.example:5060;branch=z9hG4bK1;rport"),
        ("Via", "SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK2"),
    ])  # fmt: skip
    mark_received(request, "10.0.0.1", 5062)
    top, second = request.get_all("Via")
    assert top == "SIP/2.0/UDP proxy.example:5060;branch=z9hG4bK1;rport=5062;received=10.0.0.1"
    assert second == "SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK2"
    same = SipMessage(method="OPTIONS", uri="sip:a", headers=[("Via", "SIP/2.0/UDP 10.0.0.1")])
    mark_received(same, "10.0.0.1", 5060)
    assert same.get("Via") == "SIP/2.0/UDP 10.0.0.1"


def _recv(sock: socket.socket, starts: bytes) -> SipMessage:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        data = sock.recv(65535)
        if data.startswith(starts):
            return parse(data)
    raise AssertionError(f"nothing starting {starts!r}")


def test_bye_goes_to_the_record_route_with_the_route_set():
    """The INVITE comes in from one proxy socket with Record-Route naming another (the proxy's
    Service address): our 200 copies it, and the bot's BYE goes to that address with Route
    headers while its Request-URI stays the caller's Contact."""
    sip = start_sip(EchoHandler(), rtp_base=26000, rtp_ports=4)
    try:
        with caller_sockets(5.0) as (proxy, rtp), caller_sockets(5.0) as (service, _):
            service_port = service.getsockname()[1]
            sent_by = f"127.0.0.1:{proxy.getsockname()[1]}"
            record_route = f"<sip:127.0.0.1:{service_port};lr>"
            invite = sip_request(
                "INVITE", sip.port, "proxied-1", 1, sdp(rtp.getsockname()[1]),
                sent_by=sent_by, headers=(f"Record-Route: {record_route}",),
            )  # fmt: skip
            proxy.sendto(invite, ("127.0.0.1", sip.port))
            ok = _recv(proxy, b"SIP/2.0 200")
            assert ok.get_all("Record-Route") == [record_route]
            to_tag = ok.get("To").split("tag=")[1]
            proxy.sendto(sip_request("ACK", sip.port, "proxied-1", 1, tag=to_tag, sent_by=sent_by),
                         ("127.0.0.1", sip.port))  # fmt: skip
            # the leg ends (as when the caller's RTP stops): the server hangs up with BYE
            leg = sip.call(lambda: sip.server.calls["proxied-1"].leg)
            asyncio.run_coroutine_threadsafe(leg.close(), sip.loop).result(5)
            bye = _recv(service, b"BYE ")
            assert bye.uri == f"sip:fuzz@{sent_by}"
            assert bye.get_all("Route") == [record_route]
    finally:
        sip.stop()


def test_options_answers_503_when_full_or_draining():
    sip = start_sip(EchoHandler(), rtp_base=26010, rtp_ports=4, max_calls=1)
    try:
        with caller_sockets(5.0) as (sig, _):
            sent_by = f"127.0.0.1:{sig.getsockname()[1]}"
            options = sip_request("OPTIONS", sip.port, "probe-1", 1, sent_by=sent_by)
            sig.sendto(options, ("127.0.0.1", sip.port))
            assert _recv(sig, b"SIP/2.0 ").status == 200
            release = sip.call(sip.server.gate.take)  # the one place is held
            options = sip_request("OPTIONS", sip.port, "probe-2", 1, sent_by=sent_by)
            sig.sendto(options, ("127.0.0.1", sip.port))
            assert _recv(sig, b"SIP/2.0 ").status == 503
            sip.call(release)
            sip.call(lambda: setattr(sip.server.gate, "accepting", lambda: False))  # draining
            options = sip_request("OPTIONS", sip.port, "probe-3", 1, sent_by=sent_by)
            sig.sendto(options, ("127.0.0.1", sip.port))
            answer = _recv(sig, b"SIP/2.0 ")
            assert answer.status == 503 and answer.get("Retry-After") == "30"
    finally:
        sip.stop()
