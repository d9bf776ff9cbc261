"""Adversarial SIP and SDP input, beside the random fuzzer (test_sip_fuzz.py): long runs of
each delimiter in every header the server reads, thousands of header values, Unicode digits and
non-ASCII in every numeric field, oversized and negative Content-Length, hostile digest
credentials. Parsing (and what the server reads from a message before answering it) takes time
linear in the message's size, and every outcome is a message or a SipParseError / SdpError /
refused credentials, never another exception; over UDP, one such datagram does not hold up the
next request."""

import contextlib
import hashlib
import random
import socket
import time
from collections.abc import Callable

import pytest
from sip_peers import sip_request, start_sip

from pipeline.telephony.sdp import SdpError, SdpOffer, parse_offer
from pipeline.telephony.sip.access import DigestAuth
from pipeline.telephony.sip.handler import EchoHandler
from pipeline.telephony.sip.header_values import header_param, header_uri
from pipeline.telephony.sip.message import MAX_HEADERS, MAX_VALUES, SipMessage, SipParseError, parse

URI = "sip:agent@10.0.0.1"
HEAD = {
    "Via": "SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKabc;rport",
    "From": '"Caller" <sip:caller@10.0.0.9>;tag=1234',
    "To": f"<{URI}>",
    "Call-ID": "adversarial-1@10.0.0.9",
    "CSeq": "1 INVITE",
    "Contact": "<sip:caller@10.0.0.9:5060;transport=udp>",
    "Max-Forwards": "70",
}
PARSED = ("Via", "Route", "Record-Route", "From", "To", "Contact", "Authorization")
DELIMITERS = ("<", '"', ",", ";", " ", "=", "\\", ">", '"<', '<"', ";=", ", ", "\t")
UNICODE_DIGITS = ("²", "١", "１", "٣٤", "𝟗", "7\u0663", "é")
BAD_NUMBERS = (*UNICODE_DIGITS, "-1", "+1", "99999999999", "9" * 5000, "1e3", "0x10")
AUTH = DigestAuth("trunk", "s3cret")


def message(headers: dict[str, str], extra: tuple[str, ...] = (), body: str = "") -> bytes:
    """An INVITE of `URI` with HEAD's headers updated by `headers`, `extra` lines, `body`."""
    lines = [f"INVITE {URI} SIP/2.0", *(f"{n}: {v}" for n, v in {**HEAD, **headers}.items())]
    lines += [*extra, f"Content-Length: {len(body.encode())}"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def sized(size: int, build: Callable[[str], bytes], unit: str) -> bytes:
    """`build(unit * n)` with n chosen so that the message is about `size` bytes."""
    rest = len(build(""))
    return build(unit * max(1, (size - rest) // len(unit.encode())))


def read_like_the_server(data: bytes) -> SipMessage | SipParseError:
    """Parse, then read what the server reads before it answers: branch, CSeq, tags, URIs and
    the digest credentials; the outcome (a SipParseError is returned, not raised)."""
    try:
        request = parse(data)
    except SipParseError as exc:
        return exc
    read = [request.branch, request.cseq, AUTH.check(request)]
    for name in ("From", "To", "Contact", "Route", "Record-Route"):
        read += [header_uri(request.get(name)), header_param(request.get(name), "tag")]
    return request


def best_time(data: bytes, repeats: int = 5) -> float:
    """The fastest of `repeats` runs of read_like_the_server(data), in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        read_like_the_server(data)
        times.append(time.perf_counter() - start)
    return min(times)


def runs() -> list[tuple[str, Callable[[str], bytes], str]]:
    """(label, build(run), unit of the run): a run of one delimiter in each parsed header,
    alone and after a usual value; many header lines; many folded continuation lines."""
    cases: list[tuple[str, Callable[[str], bytes], str]] = []
    for name in PARSED:
        usual = HEAD.get(name, 'Digest username="trunk", realm="switchboard", nonce="1.2"')
        for delimiter in DELIMITERS:
            for prefix in ("", usual):
                label = f"{name}:{'usual+' if prefix else ''}{delimiter!r}"
                build = lambda run, n=name, p=prefix: message({n: p + run})  # noqa: E731
                cases.append((label, build, delimiter))
    lines = lambda run: message({}, tuple(run.splitlines()))  # noqa: E731
    folded = lambda run: message({"Subject": "x\r\n" + run.rstrip()})  # noqa: E731
    return [*cases, ("many header lines", lines, "X-A: 1\r\n"), ("folded lines", folded, " x\r\n")]


CASES = runs()
IDS = [label for label, _, _ in CASES]


@pytest.mark.parametrize(("label", "build", "unit"), CASES, ids=IDS)
def test_parse_time_is_linear_in_the_size_of_the_message(label, build, unit):
    """64 KB within 50 ms and about 8 times the 8 KB time (a quadratic scan: ~64 times; on a
    run of '<' it took seconds)."""
    small, big = sized(8_000, build, unit), sized(64_000, build, unit)
    assert len(big) <= 65_535
    small_s, big_s = best_time(small), best_time(big)
    assert big_s < 0.05, f"{label}: {big_s * 1000:.1f} ms for {len(big)} bytes"
    assert big_s < 8 * small_s + 0.005, f"{label}: {small_s * 1e3:.2f} ms -> {big_s * 1e3:.2f} ms"


@pytest.mark.parametrize(("label", "build", "unit"), CASES, ids=IDS)
def test_every_outcome_is_a_message_or_a_parse_error(label, build, unit):
    """The run at several sizes, then cut and damaged with other delimiters, with a bad
    number in a numeric field: never another exception."""
    rng = random.Random(label)
    for size in (1, 2, 3, 100, 1_000, 10_000, 60_000):
        outcome = read_like_the_server(sized(size, build, unit))
        assert isinstance(outcome, SipMessage | SipParseError), (label, size)
    fields = (b"CSeq: 1", b"Max-Forwards: 70", b"Content-Length: 0")
    for _ in range(30):
        data = bytearray(sized(rng.randrange(50, 4000), build, unit))
        for _ in range(rng.randrange(1, 8)):
            data[rng.randrange(len(data))] = ord(rng.choice('<>",;= \\\t\r\n:'))
        field = rng.choice(fields)
        bad = field.partition(b":")[0] + b": " + rng.choice(BAD_NUMBERS).encode()
        data = bytes(data).replace(field, bad, 1)
        assert isinstance(read_like_the_server(data), SipMessage | SipParseError)


def refused(data: bytes, says: str) -> SipParseError:
    """The SipParseError of `data`, which must name `says` and be answerable (a 400)."""
    with pytest.raises(SipParseError, match=says) as caught:
        parse(data)
    assert caught.value.message is not None, "a request with a readable start line gets a 400"
    return caught.value


def test_thousands_of_via_values_are_refused_with_an_answerable_400():
    vias = ", ".join(f"SIP/2.0/UDP 10.0.0.{i % 250}:5060;branch=z9hG4bK{i}" for i in range(1000))
    error = refused(message({"Via": vias}), f"more than {MAX_VALUES} Via values")
    kept = error.message.get_all("Via")
    assert len(kept) == MAX_VALUES and kept[0].endswith("branch=z9hG4bK0")
    assert all(error.message.get(name) for name in ("From", "To", "Call-ID", "CSeq"))


def test_values_of_one_header_over_many_lines_count_together():
    routes = tuple(f"Route: <sip:proxy{i}.example;lr>" for i in range(MAX_VALUES + 1))
    refused(message({}, routes), f"more than {MAX_VALUES} Route values")
    assert len(parse(message({}, routes[:MAX_VALUES])).get_all("Route")) == MAX_VALUES


def test_thousands_of_header_lines_are_refused_but_the_mandatory_ones_are_still_read():
    head = message({}).split(b"\r\n", 1)
    lines = b"".join(b"X-Junk-%d: 1\r\n" % i for i in range(3000))
    error = refused(head[0] + b"\r\n" + lines + head[1], f"more than {MAX_HEADERS} header")
    assert error.message.get("Call-ID") == HEAD["Call-ID"] and error.message.get("Via")
    assert len(error.message.headers) <= MAX_HEADERS + 5


@pytest.mark.parametrize("number", (*BAD_NUMBERS, "7 7"))
@pytest.mark.parametrize("name", ["CSeq", "Content-Length", "Max-Forwards", "Expires"])
def test_numeric_headers_take_ascii_digits_in_range_only(name, number):
    if name == "CSeq":
        refused(message({"CSeq": f"{number} INVITE"}), "CSeq")
    elif name == "Content-Length":
        data = message({}, body="v=0\r\n").replace(b"Content-Length: 5", f"l: {number}".encode())
        refused(data, "Content-Length")
    else:
        refused(message({name: number}), name)


def test_numbers_in_range_parse():
    request = parse(message({"CSeq": f"{2**31 - 1} INVITE", "Expires": "3600"}, body="v=0"))
    assert request.cseq == (2**31 - 1, "INVITE") and request.body == b"v=0"
    refused(message({"CSeq": f"{2**31} INVITE"}), "CSeq")
    refused(message({"Max-Forwards": "256"}), "Max-Forwards")


def test_content_length_past_the_body_or_disagreeing_is_refused():
    refused(message({}, body="v=0").replace(b"Content-Length: 3", b"l: 70000"), "Content-Length")
    refused(message({}, ("Content-Length: 1",), body="v=0"), "Content-Length")


@pytest.mark.parametrize("status", ["２00", "2²0", "099", "2000", "20", "7" * 5000, "-20"])
def test_a_response_with_a_bad_status_code_is_dropped(status):
    data = message({}).replace(f"INVITE {URI} SIP/2.0".encode(), f"SIP/2.0 {status} OK".encode())
    with pytest.raises(SipParseError, match="start line") as caught:
        parse(data)
    assert caught.value.message is None


def test_params_and_uris_are_read_after_the_uri_part_and_unclosed_quotes_run_to_the_end():
    assert header_param("<sip:a@b;tag=inside>;tag=outside", "tag") == "outside"
    assert header_param('"x;tag=no" <sip:a@b>;TAG="q\\"d"', "tag") == 'q"d'
    assert header_uri('"a <b>" <sip:c@d>, <sip:e@f>') == "sip:c@d"
    assert header_uri("<sip:unclosed@d;tag=1") == "sip:unclosed@d;tag=1"
    assert header_param('"unclosed;tag=1', "tag") == ""


def _authorization(**change: str) -> SipMessage:
    """A request of `URI` carrying credentials for AUTH, with parameters replaced by `change`
    (the response is computed from the replaced values unless `response` is given)."""
    nonce = header_param(";" + AUTH.challenge().partition(" ")[2].replace(",", ";"), "nonce")
    p = {"username": "trunk", "realm": "switchboard", "nonce": nonce, "uri": URI}
    p |= {"qop": "auth", "nc": "00000001", "cnonce": "c1"} | change
    p = {k: v for k, v in p.items() if v is not None}

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()

    ha1, ha2 = md5("trunk:switchboard:s3cret"), md5(f"INVITE:{p['uri']}")
    if "qop" in p:
        p.setdefault("response", md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}"))
    else:
        p.setdefault("response", md5(f"{ha1}:{p['nonce']}:{ha2}"))  # RFC 2069, no qop
    line = "Authorization: Digest " + ", ".join(f'{k}="{v}"' for k, v in p.items())
    return parse(message({}, (line,)))


def test_digest_accepts_proper_credentials_and_refuses_a_uri_other_than_the_request_uri():
    assert AUTH.check(_authorization())
    assert not AUTH.check(_authorization(uri="sip:agent@elsewhere.example"))


def test_digest_refuses_credentials_without_qop_auth():
    assert not AUTH.check(_authorization(qop=None, nc=None, cnonce=None))
    assert not AUTH.check(_authorization(qop="auth-int"))
    assert not AUTH.check(_authorization(algorithm="SHA-256"))


@pytest.mark.parametrize("param", ["nonce", "response", "username", "cnonce", "uri", "nc"])
@pytest.mark.parametrize("value", ["é" * 8, "１２.abc", "²", "a" * 5000, '"', ""])
def test_digest_with_non_ascii_or_oversized_values_is_refused_never_an_error(param, value):
    assert AUTH.check(_authorization(**{param: value})) is False


def test_sdp_numbers_take_ascii_digits_in_range_only():
    offer = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio {port} RTP/AVP {pt}\r\n"
    offer += "a=rtpmap:{pt} PCMU/{rate}\r\n"
    fields = {"port": "4000", "pt": "0", "rate": "8000"}
    assert parse_offer(offer.format(**fields)).port == 4000
    for name in fields:
        for bad in (*BAD_NUMBERS, "10000000" if name == "rate" else "70000"):
            with pytest.raises(SdpError):
                parse_offer(offer.format(**(fields | {name: bad})))
    with pytest.raises(SdpError, match="no audio stream"):  # port 0, however written: declined
        parse_offer(offer.format(**(fields | {"port": "00"})))
    for ptime in ("²", "-1", "9" * 5000):
        with pytest.raises(SdpError):
            parse_offer(offer.format(**fields) + f"a=ptime:{ptime}\r\n")
    with pytest.raises(SdpError):
        parse_offer(offer.format(**fields).replace("127.0.0.1", "１２７.0.0.1"))


def test_mutated_sdp_offers_give_an_offer_or_an_sdp_error_only():
    rng = random.Random(16)
    base = "v=0\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0 101\r\n"
    base += "a=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=sendrecv\r\n"
    junk = [*UNICODE_DIGITS, "0", "/", " ", "=", ":", "\r\n", "m=audio ", "c=IN IP6 ", "9" * 30]
    for _ in range(3000):
        text = list(base)
        for _ in range(rng.randrange(1, 6)):
            text.insert(rng.randrange(len(text)), rng.choice(junk))
            del text[rng.randrange(len(text))]
        with contextlib.suppress(SdpError):
            assert isinstance(parse_offer("".join(text)), SdpOffer)


@pytest.fixture(scope="module")
def sip():
    server = start_sip(EchoHandler(), rtp_base=26400)
    yield server
    server.stop()


def _answer_to(sock: socket.socket, call_id: str) -> SipMessage:
    """The next answer on `sock` to the request with `call_id` (others are skipped)."""
    while True:
        answer = parse(sock.recv(65535))
        if answer.get("Call-ID") == call_id:
            return answer


def test_an_abusive_datagram_does_not_hold_up_the_next_request(sip):
    """A 50 KB run of '<' in a Via, then an ordinary OPTIONS: answered within 0.5 s (parsing
    the run took seconds); 1000 Via values get a 400 naming the limit."""
    server = ("127.0.0.1", sip.port)
    abusive = sip_request("OPTIONS", sip.port, "abuse", 1)
    abusive = abusive.replace(b";branch=", b";x=" + b"<" * 50_000 + b";branch=", 1)
    many = ", ".join(["SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bKmany"] * 1000)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as caller:
        caller.bind(("127.0.0.1", 0))
        caller.settimeout(5)
        caller.sendto(abusive, server)
        start = time.perf_counter()
        caller.sendto(sip_request("OPTIONS", sip.port, "normal", 1), server)
        assert _answer_to(caller, "normal").status == 200
        assert time.perf_counter() - start < 0.5
        caller.sendto(
            sip_request("OPTIONS", sip.port, "many", 1, headers=(f"Via: {many}",)), server
        )
        answer = _answer_to(caller, "many")
        assert (answer.status, answer.reason) == (400, "Bad Request (more than 32 Via values)")
