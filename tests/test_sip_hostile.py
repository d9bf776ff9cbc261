"""Hostile peers against a live SIP server over UDP (the echo handler in a process of its
own, digest authentication on, agent.allowed_peers 127.0.0.2/32 and 127.0.0.3/32).

A stranger (127.0.0.1) floods 64 KB datagrams at ~1,000/s while an allowed peer sends abusive
64 KB messages at ~100/s: OPTIONS from another allowed peer is still answered at once, a call
keeps its echo, and the server grows by at most 20 MB; so it does after 10,000 abusive
messages that were each answered. Spoofed in-dialog requests (wrong tags, another port) get
481 and the call keeps its audio; a stranger's requests are never answered. (TCP:
tests/test_sip_tcp_limits.py.)"""

import contextlib
import socket
import threading
import time

import pytest
from sip_call_peer import EchoCall, max_gap
from sip_echo_process import start_echo_process
from sip_peers import await_status, digest_authorization, sdp, sip_request
from speech_server_fixture import free_port

from pipeline.telephony.sip.message import parse
from pipeline.telephony.sip.responses import response
from pipeline.telephony.sip.transfer import refer_target

pytestmark = pytest.mark.timeout(240)
STRANGER, ABUSER, CALLER = "127.0.0.1", "127.0.0.2", "127.0.0.3"
AUTH = ("trunk", "s3cret")
DATAGRAM = 64_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    echo = start_echo_process(
        tmp_path_factory.mktemp("sip-hostile"),
        free_port(),
        allowed_peers=[f"{ABUSER}/32", f"{CALLER}/32"],
        rtp_port_min=33000,
        rtp_port_max=33099,
        sip_auth_user=AUTH[0],
        sip_auth_password=AUTH[1],
    )
    yield echo
    echo.stop()


@pytest.fixture
def call(server):
    call = EchoCall(CALLER, server.port, f"call-{time.monotonic_ns()}", AUTH)
    call.dial()
    yield call
    call.close()


def abusive(n: int, port: int, host: str) -> bytes:
    """The `n`th ~64 KB request built to cost a parser or a table: a long run of one
    delimiter in a parsed header, a comma-split Via, thousands of values, or an INVITE with a
    huge From."""
    branch = f"z9hG4bKab{n:x}"
    via = f"Via: SIP/2.0/UDP {host}:5099;branch={branch}"
    fills = [  # (method, header line: prefix, the unit repeated, suffix)
        ("OPTIONS", via, ", SIP/2.0/UDP a:1", ""),
        ("OPTIONS", "Route: ", "<", ""),
        ("OPTIONS", "From: ", "<", ";tag=x"),
        ("OPTIONS", 'To: "', '"', ""),
        ("OPTIONS", "Contact: ", ";", ""),
        ("OPTIONS", "To: <sip:a@b>", " ", ";tag"),
        ("OPTIONS", "Contact: <sip:a@b>;", "=", ""),
        ("OPTIONS", "Supported: ", "a,", "a"),
        ("INVITE", 'From: "', "x", '" <sip:a@b>;tag=1'),
    ]
    method, prefix, unit, suffix = fills[n % len(fills)]
    room = DATAGRAM - 400 - len(prefix) - len(suffix)
    line = prefix + unit * (room // len(unit)) + suffix
    base = sip_request(method, port, f"abuse-{n}", 1, branch=branch, sent_by=f"{host}:5099")
    name = line.partition(":")[0]
    lines = base.decode().split("\r\n")
    if any(_named(old, name) for old in lines):
        lines = [line if _named(old, name) else old for old in lines]
    else:
        lines.insert(1, line)
    return "\r\n".join(lines).encode()


def _named(line: str, name: str) -> bool:
    return line.lower().startswith(name.lower() + ":")


def _flood(host: str, port: int, per_s: int, seconds: float, sent: list[int]) -> None:
    """Send abusive datagrams from `host` at `per_s`, in bursts every 10 ms."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        start, n = time.monotonic(), 0
        while (elapsed := time.monotonic() - start) < seconds:
            while n < per_s * elapsed:
                with contextlib.suppress(OSError):  # a full socket buffer: that one is lost
                    sock.sendto(abusive(n, port, host), ("127.0.0.1", port))
                n += 1
            time.sleep(0.01)
        sent.append(n)


def _options_rtt(sock: socket.socket, port: int, n: int) -> float:
    """Seconds until our OPTIONS is answered (inf: not within 2 s)."""
    call_id = f"probe-{n}"
    sent_by = "{}:{}".format(*sock.getsockname())
    start = time.monotonic()
    sock.sendto(sip_request("OPTIONS", port, call_id, n, sent_by=sent_by), ("127.0.0.1", port))
    deadline = start + 2
    while time.monotonic() < deadline:
        try:
            data = sock.recv(65535)
        except TimeoutError:
            break
        if call_id.encode() in data and data.startswith(b"SIP/2.0 200"):
            return time.monotonic() - start
    return float("inf")


def test_floods_leave_options_prompt_calls_talking_and_memory_flat(server, call):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((CALLER, 0))
        probe.settimeout(2)
        warm: list[int] = []
        _flood(ABUSER, server.port, 200, 2.0, warm)  # the allocator's first growth
        time.sleep(0.5)
        before = server.rss()
        sent_stranger: list[int] = []
        sent_abuser: list[int] = []
        floods = [
            threading.Thread(
                target=_flood, args=(STRANGER, server.port, 1000, 10.0, sent_stranger)
            ),
            threading.Thread(target=_flood, args=(ABUSER, server.port, 100, 10.0, sent_abuser)),
        ]
        start = time.monotonic()
        for flood in floods:
            flood.start()
        rtts = []
        while time.monotonic() - start < 10.0:
            rtts.append(_options_rtt(probe, server.port, len(rtts) + 1))
            time.sleep(0.05)
        for flood in floods:
            flood.join()
        end = time.monotonic()
        time.sleep(0.5)
        grown = server.rss() - before
    rtts.sort()
    p95 = rtts[int(0.95 * (len(rtts) - 1))]
    assert sent_stranger[0] + sent_abuser[0] >= 10_000
    assert p95 < 0.1, (p95, rtts[-5:])
    heard = call.heard_between(start, end)
    assert len(heard) >= 0.7 * (end - start) / 0.02, len(heard)  # the echo of our tone
    assert max_gap(call.heard, start, end) < 1.0
    assert grown < 20 * 2**20, f"grew {grown / 2**20:.1f} MB"


def test_ten_thousand_abusive_messages_answered_leave_memory_flat(server):
    """Each from an allowed peer, answered before the next are sent (so each was parsed and
    answered): comma-split Via (400), thousands of values (200), INVITEs with a huge From
    (401)."""
    kinds = [0, 7, 8]  # see abusive(): Via, Supported, INVITE with a huge From
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((ABUSER, 0))
        sock.settimeout(2)
        host = sock.getsockname()[0]

        def send(n: int) -> None:
            sock.sendto(
                abusive(kinds[n % 3] + 9 * n, server.port, host), ("127.0.0.1", server.port)
            )

        answered, before = 0, server.rss()
        for start in range(0, 10_300, 2):  # two in flight: 128 KB fits a socket's buffer
            if start == 300:  # after the allocator's first growth
                before = server.rss()
            if start - answered > 10:
                break  # unanswered: no need to wait out the rest
            send(start)
            send(start + 1)
            answered += _answers(sock, 2)
        grown = server.rss() - before
    assert answered >= 0.95 * 10_300, answered
    assert grown < 20 * 2**20, f"grew {grown / 2**20:.1f} MB"


def _answers(sock: socket.socket, expected: int) -> int:
    """How many of `expected` answers arrive (each within 2 s of the one before)."""
    got = 0
    with contextlib.suppress(TimeoutError):
        while got < expected:
            if sock.recv(65535).startswith(b"SIP/2.0 "):
                got += 1
    return got


def test_a_stranger_gets_no_answer(server):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        stranger.bind((STRANGER, 0))
        stranger.settimeout(1.0)
        for method in ("OPTIONS", "INVITE", "BYE"):
            stranger.sendto(sip_request(method, server.port, "s", 1), ("127.0.0.1", server.port))
        with pytest.raises(TimeoutError):
            stranger.recv(65535)


def test_spoofed_in_dialog_requests_get_481_and_the_call_keeps_its_audio(server, call):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as spoofer:
        spoofer.bind((ABUSER, 0))  # an allowed peer, another address and port
        spoofer.settimeout(5)
        sent_by = "{}:{}".format(*spoofer.getsockname())
        own_rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        own_rtp.bind((ABUSER, 0))
        own_rtp.settimeout(0.5)
        moved = sdp(own_rtp.getsockname()[1]).replace("127.0.0.1", ABUSER)
        start = time.monotonic()
        spoofs = [
            call.request("BYE", tag="wrong", sent_by=sent_by),
            call.request("BYE", from_tag="wrong", sent_by=sent_by),
            call.request("INVITE", moved, tag="wrong", sent_by=sent_by),
            call.request("INVITE", moved, tag="", sent_by=sent_by),  # a new INVITE, same Call-ID
            call.request("NOTIFY", tag="", sent_by=sent_by),
            call.request("CANCEL", cseq=2, tag="", sent_by=sent_by),  # not the INVITE's branch
        ]
        for spoof, status in zip(spoofs, [481, 481, 481, 482, 481, 481], strict=True):
            spoofer.sendto(spoof, ("127.0.0.1", server.port))
            assert parse(spoofer.recv(65535)).status == status
        spoofer.sendto(
            call.request("ACK", tag="wrong", sent_by=sent_by), ("127.0.0.1", server.port)
        )
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
            stranger.bind((STRANGER, 0))  # the right tags, but from outside the allow-list
            stranger.sendto(call.request("BYE"), ("127.0.0.1", server.port))
        time.sleep(1.0)
        with pytest.raises(TimeoutError):
            own_rtp.recv(2048)  # the media never moved to the spoofer
        own_rtp.close()
        assert len(call.heard_between(start + 0.5, time.monotonic())) > 20

        # The real dialog's re-INVITE is challenged like the first INVITE, then taken; a BYE
        # with the right tags from another allowed port (a proxy's other replica) ends it.
        reinvite = call.request(
            "INVITE", sdp(call.rtp.getsockname()[1]).replace("127.0.0.1", CALLER)
        )
        call.send(reinvite)
        challenge = parse(await_status(call.sig, 401)).get("WWW-Authenticate")
        uri = f"sip:agent@127.0.0.1:{server.port}"
        line = digest_authorization(challenge, "INVITE", uri, *AUTH)
        body = sdp(call.rtp.getsockname()[1]).replace("127.0.0.1", CALLER)
        call.send(call.request("INVITE", body, headers=(line,)))
        await_status(call.sig, 200)
        call.send(call.request("ACK", cseq=call.cseq))
        spoofer.sendto(call.request("BYE", sent_by=sent_by), ("127.0.0.1", server.port))
        assert parse(spoofer.recv(65535)).status == 200


def test_a_bare_extension_is_transferred_to_the_sending_peer_not_the_from_host():
    assert refer_target("1000", "10.0.0.5") == "sip:1000@10.0.0.5"
    assert refer_target("1000", "fd00::5") == "sip:1000@[fd00::5]"
    assert refer_target("sip:1000@pbx.example", "10.0.0.5") == "sip:1000@pbx.example"


def test_the_answers_kept_for_retransmissions_are_bounded_by_bytes():
    from pipeline.telephony.sip.answers import MAX_BYTES, AnswerCache  # (new: bytes-bounded)

    cache = AnswerCache()
    for n in range(200):  # 200 answers of ~60 KB: 12 MB if all were kept
        request = parse(abusive(9 * n + 8, 5060, ABUSER))
        answer = response(request, 486)
        cache.remember(answer, answer.to_bytes())
    assert cache.bytes <= MAX_BYTES and 0 < len(cache) < 200
    assert cache.get(parse(abusive(9 * 199 + 8, 5060, ABUSER))) is not None  # the newest
    assert cache.get(parse(abusive(8, 5060, ABUSER))) is None  # the oldest went first
