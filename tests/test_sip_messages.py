"""SIP message parsing and building, peer filtering and digest checks, without a network;
and malformed requests over real UDP and TCP sockets to a running server (400, or dropped)."""

import contextlib
import hashlib
import socket

import pytest
from sip_peers import await_status, caller_sockets, sdp, sip_request, start_sip

from pipeline.telephony.call_gate import PeerFilter
from pipeline.telephony.sip.access import DigestAuth
from pipeline.telephony.sip.handler import EchoHandler
from pipeline.telephony.sip.header_values import header_param, header_uri
from pipeline.telephony.sip.message import SipParseError, parse
from pipeline.telephony.sip.responses import response

INVITE = (
    "INVITE sip:agent@10.0.0.1 SIP/2.0\r\n"
    "v: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKabc;rport, "
    "SIP/2.0/TCP proxy:5060;branch=z9hG4bKx\r\n"
    "Via: SIP/2.0/UDP edge:5060;branch=z9hG4bKy\r\n"
    'f: "A, B" <sip:caller@10.0.0.9>;tag=1234\r\n'
    "t: <sip:agent@10.0.0.1>\r\n"
    "i: call-1@10.0.0.9\r\n"
    "CSeq: 7 INVITE\r\n"
    "Subject: folded\r\n  continued\r\n"
    "c: application/sdp\r\n"
    "l: 5\r\n"
    "\r\n"
    "v=0\r\nignored"
)


def test_parse_compact_forms_multiple_via_folding_and_body():
    message = parse(INVITE.encode())
    assert (message.method, message.uri) == ("INVITE", "sip:agent@10.0.0.1")
    assert len(message.get_all("Via")) == 3
    assert message.branch == "z9hG4bKabc"
    assert message.get("from") == '"A, B" <sip:caller@10.0.0.9>;tag=1234'
    assert header_param(message.get("From"), "tag") == "1234"
    assert header_uri(message.get("From")) == "sip:caller@10.0.0.9"
    assert message.get("Call-ID") == "call-1@10.0.0.9"
    assert message.get("Subject") == "folded continued"
    assert message.cseq == (7, "INVITE")
    assert message.body == b"v=0\r\n"  # Content-Length bounds the body


def test_response_copies_the_request_and_round_trips():
    request = parse(INVITE.encode())
    answer = parse(response(request, 180, to_tag="xyz").to_bytes())
    assert (answer.status, answer.reason) == (180, "Ringing")
    assert answer.get_all("Via") == request.get_all("Via")
    assert header_param(answer.get("To"), "tag") == "xyz"
    assert answer.get("Content-Length") == "0"


@pytest.mark.parametrize(
    ("data", "answerable", "says"),
    [
        (b"\x00\xff garbage", False, "not UTF-8"),
        (b"HELLO world\r\n\r\n", False, "start line"),
        (INVITE.replace("i: call-1@10.0.0.9\r\n", "").encode(), True, "Call-ID"),
        (INVITE.replace("CSeq: 7 INVITE", "CSeq: seven INVITE").encode(), True, "CSeq"),
        (INVITE.replace("CSeq: 7 INVITE", "CSeq: 7 BYE").encode(), True, "does not match"),
        (INVITE.replace("l: 5", "l: 500").encode(), True, "Content-Length 500"),
        (INVITE.replace("l: 5", "l: -1").encode(), True, "Content-Length"),
        (INVITE.replace("Subject: folded", "Subject folded").encode(), True, "malformed header"),
    ],
)
def test_bad_messages_are_refused_with_a_reason(data, answerable, says):
    with pytest.raises(SipParseError, match=says) as caught:
        parse(data)
    assert (caught.value.message is not None) == answerable


def test_peer_filter_addresses_and_cidrs():
    peers = PeerFilter(["10.1.0.0/16", "192.0.2.7/32", "::1/128"])
    assert peers.allows("10.1.200.3") and peers.allows("192.0.2.7") and peers.allows("::1")
    assert peers.allows("::ffff:10.1.0.1")  # IPv4-mapped
    assert not peers.allows("10.2.0.1") and not peers.allows("192.0.2.8")
    assert not peers.allows("not-an-address")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_digest_accepts_the_right_password_only():
    auth = DigestAuth("trunk", "s3cret")
    nonce = header_param(auth.challenge().replace(", ", ";"), "nonce")
    request = parse(INVITE.encode())

    def authorize(password: str, nonce: str = nonce) -> bool:
        ha1 = _md5(f"trunk:switchboard:{password}")
        ha2 = _md5("INVITE:sip:agent@10.0.0.1")
        digest = _md5(f"{ha1}:{nonce}:00000001:c1:auth:{ha2}")
        request.set(
            "Authorization",
            f'Digest username="trunk", realm="switchboard", nonce="{nonce}", '
            f'uri="sip:agent@10.0.0.1", response="{digest}", qop=auth, nc=00000001, cnonce="c1"',
        )
        return auth.check(request)

    assert authorize("s3cret")
    assert not authorize("wrong")
    assert not authorize("s3cret", nonce="1." + nonce.split(".")[1])  # a forged nonce


@pytest.fixture(scope="module")
def sip():
    server = start_sip(EchoHandler(), rtp_base=26000)
    yield server
    server.stop()


def _without_body(method: str) -> bytes:
    head = INVITE.split("\r\n\r\n")[0].replace("INVITE", method).replace("l: 5", "l: 0")
    return (head + "\r\n\r\n").encode()


def _udp_exchange(port: int, data: bytes, timeout: float = 2.0) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(data, ("127.0.0.1", port))
        try:
            return sock.recv(65535)
        except TimeoutError:
            return None


def test_malformed_request_over_udp_gets_400_naming_the_problem(sip):
    bad = INVITE.replace("i: call-1@10.0.0.9\r\n", "").encode()
    answer = _udp_exchange(sip.port, bad)
    assert answer.startswith(b"SIP/2.0 400 Bad Request (missing header(s): Call-ID)"), answer


def test_unparseable_datagram_is_dropped_and_the_server_goes_on(sip):
    assert _udp_exchange(sip.port, b"\x16\x03\x01 not sip at all", timeout=1.0) is None
    options = _without_body("OPTIONS")
    assert parse(_udp_exchange(sip.port, options)).status == 200


def test_unknown_method_gets_405_and_unknown_dialog_481(sip):
    answer = parse(_udp_exchange(sip.port, _without_body("PUBLISH")))
    assert answer.status == 405 and "INVITE" in answer.get("Allow")
    answer = parse(_udp_exchange(sip.port, _without_body("BYE")))
    assert answer.status == 481


def test_invite_requiring_an_extension_gets_420_and_a_stray_reinvite_481(sip):
    require = INVITE.replace("CSeq: 7 INVITE", "CSeq: 7 INVITE\r\nRequire: 100rel")
    answer = parse(_udp_exchange(sip.port, require.encode()))
    assert (answer.status, answer.reason) == (420, "Bad Extension")
    assert answer.get("Unsupported") == "100rel"
    stray = INVITE.replace("t: <sip:agent@10.0.0.1>", "t: <sip:agent@10.0.0.1>;tag=gone")
    stray = stray.replace("branch=z9hG4bKabc", "branch=z9hG4bKstray")  # not a retransmission
    assert parse(_udp_exchange(sip.port, stray.encode())).status == 481


def test_tcp_framing_two_messages_in_one_write_and_a_bad_stream(sip):
    options = _without_body("OPTIONS")
    with socket.create_connection(("127.0.0.1", sip.port), timeout=5) as sock:
        sock.sendall(b"\r\n\r\n" + options + options)  # a keep-alive, then two requests
        data = b""
        while data.count(b"SIP/2.0 200") < 2:
            chunk = sock.recv(65535)
            assert chunk, data
            data += chunk
    with socket.create_connection(("127.0.0.1", sip.port), timeout=5) as sock:
        sock.sendall(options.replace(b"l: 0", b"l: lots"))
        assert sock.recv(65535) == b""  # that connection is closed, nothing else
    assert parse(_udp_exchange(sip.port, options)).status == 200


def test_our_200_is_retransmitted_until_the_ack(sip):
    """RFC 3261 timer G over UDP: the 200 goes again at 0.5 s, 1.5 s, 3.5 s ... until ACK."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as caller:
        caller.bind(("127.0.0.1", 0))
        caller.settimeout(5)
        caller.sendto(
            sip_request("INVITE", sip.port, "no-ack", 1, sdp(40000)), ("127.0.0.1", sip.port)
        )
        first = parse(await_status(caller, 200))
        again = [parse(await_status(caller, 200)) for _ in range(2)]  # by 1.5 s
        assert all(a.to_bytes() == first.to_bytes() for a in again)
        tag = header_param(first.get("To"), "tag")
        caller.sendto(sip_request("ACK", sip.port, "no-ack", 1, tag=tag), ("127.0.0.1", sip.port))
        caller.settimeout(3)  # the next would come 2 s after the last one
        with pytest.raises(TimeoutError):
            while True:
                assert not caller.recv(65535).startswith(b"SIP/2.0 200")
        caller.sendto(sip_request("BYE", sip.port, "no-ack", 2, tag=tag), ("127.0.0.1", sip.port))
        caller.settimeout(5)
        assert parse(await_status(caller, 200)).cseq == (2, "BYE")


def _rtp_arrives(sock: socket.socket, within_s: float) -> bool:
    """Whether a packet arrives within `within_s`, not counting those already queued."""
    sock.setblocking(False)
    with contextlib.suppress(BlockingIOError):
        while True:
            sock.recv(2048)
    sock.settimeout(within_s)
    try:
        sock.recv(2048)
        return True
    except TimeoutError:
        return False


def test_hold_by_reinvite_stops_our_rtp_and_resume_restarts_it(sip):
    with caller_sockets(timeout=5) as (caller, rtp):
        server = ("127.0.0.1", sip.port)
        offer = sdp(rtp.getsockname()[1])
        caller.sendto(sip_request("INVITE", sip.port, "hold", 1, offer), server)
        tag = header_param(parse(await_status(caller, 200)).get("To"), "tag")
        caller.sendto(sip_request("ACK", sip.port, "hold", 1, tag=tag), server)
        assert _rtp_arrives(rtp, 1.0)  # silence packets every 20 ms
        for cseq, (ours, theirs, sending) in enumerate(
            [("sendonly", "recvonly", False), ("sendrecv", "sendrecv", True)], start=2
        ):
            reinvite = sip_request("INVITE", sip.port, "hold", cseq, offer + f"a={ours}\r\n", tag)
            caller.sendto(reinvite, server)
            answer = parse(await_status(caller, 200))
            assert f"a={theirs}" in answer.body.decode()
            caller.sendto(sip_request("ACK", sip.port, "hold", cseq, tag=tag), server)
            assert _rtp_arrives(rtp, 0.5) == sending
        caller.sendto(sip_request("BYE", sip.port, "hold", 9, tag=tag), server)
        assert parse(await_status(caller, 200)).cseq == (9, "BYE")


def test_requests_without_an_rfc3261_branch_are_never_taken_for_retransmissions(sip):
    old_style = INVITE.replace(";branch=z9hG4bKabc", "")  # RFC 2543 clients send no cookie
    bad_offer = old_style.replace("call-1@", "old-1@")  # its SDP is just "v=0": 488
    requires = old_style.replace("call-1@", "old-2@").replace(
        "CSeq: 7 INVITE", "CSeq: 7 INVITE\r\nRequire: x"
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as caller:
        caller.settimeout(5)
        caller.sendto(bad_offer.encode(), ("127.0.0.1", sip.port))
        await_status(caller, 488)
        caller.sendto(requires.encode(), ("127.0.0.1", sip.port))
        await_status(caller, 420)  # not the 488 again
