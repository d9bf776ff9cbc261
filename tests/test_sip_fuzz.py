"""Fuzz: thousands of mutated SIP messages (UDP and TCP) and RTP packets sent at a running
SIP server; it must stay up, log no internal error, and a proper sipp call must complete
afterwards with its audio and DTMF intact."""

import contextlib
import logging
import random
import socket
import time

import pytest
from sip_peers import (
    await_status,
    caller_sockets,
    rtp_packets,
    run_sipp,
    sdp,
    sip_request,
    sipp_report,
    start_sip,
    write_pcap,
)

from pipeline.callers.voice import synthesize
from pipeline.telephony.rtp_packet import RtpPacket, build
from pipeline.telephony.sdp import parse_offer
from pipeline.telephony.sip.handler import EchoHandler
from pipeline.telephony.sip.message import parse

pytestmark = pytest.mark.timeout(400)
SIP_MESSAGES, TCP_MESSAGES, RTP_PACKETS = 3000, 300, 2000


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random damage: flipped bytes, a cut, a line dropped or doubled, junk inserted, a
    bad Content-Length, bare LFs, or pure noise."""
    kind = rng.randrange(8)
    if kind == 0:
        out = bytearray(data)
        for _ in range(rng.randint(1, 12)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if kind == 1:
        return data[: rng.randrange(len(data))]
    lines = data.split(b"\r\n")
    if kind == 2:
        del lines[rng.randrange(len(lines))]
    elif kind == 3:
        lines.insert(rng.randrange(len(lines)), rng.choice(lines) * rng.randint(1, 50))
    elif kind == 4:
        lines.insert(rng.randrange(len(lines)), rng.randbytes(rng.randint(1, 300)))
    elif kind == 5:
        value = rng.choice([b"-1", b"99999999", b"abc", b"", b"1e9", str(2**70).encode()])
        lines = [b"Content-Length: " + value if line.startswith(b"Content-Length") else line
                 for line in lines]  # fmt: skip
    elif kind == 6:
        return data.replace(b"\r\n", b"\n")
    else:
        return rng.randbytes(rng.randint(0, 2000))
    return b"\r\n".join(lines)


def mutate_rtp(rng: random.Random, seq: int) -> bytes:
    packet = build(RtpPacket(rng.choice([0, 0, 101, 8, 13]), seq, seq * 160, 7, rng.randbytes(160)))
    out = bytearray(packet[: rng.randint(0, len(packet))] if rng.random() < 0.3 else packet)
    for _ in range(rng.randint(0, 6)):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


@pytest.fixture(scope="module")
def sip():
    server = start_sip(EchoHandler(), rtp_base=27000, rtp_ports=600, max_calls=300)
    yield server
    server.stop()


def test_fuzz_then_a_proper_call(sip, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="pipeline.telephony")
    rng = random.Random(6)
    port = sip.port
    with caller_sockets(timeout=10) as (sig, rtp):
        # A real call from these sockets, to fuzz RTP from the negotiated address.
        invite = sip_request("INVITE", port, "fuzz-call", 1, sdp(rtp.getsockname()[1]))
        sig.sendto(invite, ("127.0.0.1", port))
        ok = parse(await_status(sig, 200))
        server_rtp = parse_offer(ok.body.decode()).port
        tag = ok.get("To").split("tag=")[1]
        sig.sendto(sip_request("ACK", port, "fuzz-call", 1, tag=tag), ("127.0.0.1", port))

        bases = [
            invite,
            sip_request("OPTIONS", port, "o", 1),
            sip_request("BYE", port, "fuzz-call", 2),
        ]
        bases += [sip_request("CANCEL", port, "c", 1), sip_request("REGISTER", port, "r", 1)]
        bases += [b"SIP/2.0 200 OK\r\nCall-ID: fuzz-call\r\nCSeq: 1 BYE\r\n\r\n"]
        for i in range(SIP_MESSAGES):
            sig.sendto(mutate(rng.choice(bases), rng)[:65000], ("127.0.0.1", port))
            if i % 50 == 0:
                time.sleep(0.02)  # let two shared cores keep up; UDP drops are not the point
        for i in range(RTP_PACKETS):
            rtp.sendto(mutate_rtp(rng, i), ("127.0.0.1", server_rtp))
            if i % 50 == 0:
                time.sleep(0.01)
        for _ in range(TCP_MESSAGES // 10):
            tcp = socket.create_connection(("127.0.0.1", port), timeout=5)
            with tcp, contextlib.suppress(OSError):  # a stream it cannot frame gets closed
                tcp.sendall(b"".join(mutate(rng.choice(bases), rng) for _ in range(10)))
        # The damaged RTP reached the fuzzed call's leg: it dropped what it could not use and
        # played the rest as caller audio.
        dropped = sip.call(lambda: dict(sip.server.calls["fuzz-call"].leg.dropped))
        assert dropped["malformed"] > 0 and dropped["payload type"] > 0, dropped
        assert sip.server.handler.calls["fuzz-call"].audio_bytes > 0
        # The fuzzed call still hangs up properly.
        sig.sendto(sip_request("BYE", port, "fuzz-call", 3, tag=tag), ("127.0.0.1", port))
        await_status(sig, 200)

    pcm = synthesize("Where is my order?", 8000)
    pcap = write_pcap(tmp_path / "q.pcap", rtp_packets(pcm, dtmf="42"))
    result = run_sipp(
        "call", port, tmp_path, keys={"pcap": str(pcap)}, pause_ms=len(pcm) // 8 + 1500
    )
    assert result.returncode == 0, sipp_report(result, tmp_path)
    handler = sip.server.handler
    deadline = time.monotonic() + 10
    while not any(r.digits == "42" for r in handler.calls.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    (proper,) = [r for cid, r in handler.calls.items() if r.digits == "42"]
    assert proper.audio_bytes >= 0.9 * len(pcm) * 2
    internal = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not internal, [r.getMessage() for r in internal][:5]
