"""The SIP server against sipp, a real SIP peer, with the echo handler (no agent).

Calls over UDP and TCP with speech and DTMF over RTP, OPTIONS keepalives, the bot hanging up
and transferring (BYE, REFER), CANCEL before answer, capacity, digest authentication, hold by
re-INVITE, and 20 calls at once. (Callers outside agent.allowed_peers get no answer at all:
tests/test_sip_hostile.py.)
"""

import subprocess
import time
from pathlib import Path

import pytest
from sip_peers import (
    rejected_scenario,
    rtp_packets,
    run_sipp,
    sipp_command,
    sipp_report,
    start_sip,
    write_pcap,
)

from pipeline.callers.voice import synthesize
from pipeline.telephony.sip.handler import EchoHandler

pytestmark = pytest.mark.timeout(300)
QUESTION = "I would like to check the status of my order please."
RTP_BASE = 24000


@pytest.fixture(scope="module")
def question_pcm():
    return synthesize(QUESTION, 8000)


@pytest.fixture
def echo():
    return EchoHandler()


@pytest.fixture
def sip(echo):
    server = start_sip(echo, rtp_base=RTP_BASE)
    yield server
    server.stop()


@pytest.fixture
def sip_with(echo):
    """A server with settings of the test's choosing: sip_with(max_calls=1, ...)."""
    servers = []

    def start(**agent):
        servers.append(start_sip(echo, rtp_base=RTP_BASE + 200, **agent))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def _sipp(scenario: str | Path, port: int, tmp_path: Path, **options):
    result = run_sipp(scenario, port, tmp_path, **options)
    assert result.returncode == 0, sipp_report(result, tmp_path)


def _wait_idle(sip, timeout_s: float = 10.0) -> None:
    """Wait until the server has finished every call (the handler runs after the BYE's 200)."""
    deadline = time.monotonic() + timeout_s
    while sip.call(lambda: len(sip.server.calls)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sip.call(lambda: len(sip.server.calls)) == 0, "calls still open"


def test_options_keepalive_is_answered(sip, tmp_path):
    _sipp("options", sip.port, tmp_path)


@pytest.mark.parametrize(
    ("scenario", "transport"), [("call", "u1"), ("call", "t1"), ("delayed_offer", "u1")]
)
def test_call_with_speech_and_dtmf_then_caller_hangs_up(
    sip, echo, question_pcm, tmp_path, scenario, transport
):
    pcap = write_pcap(tmp_path / "q.pcap", rtp_packets(question_pcm, dtmf="12"))
    hold_ms = int(len(question_pcm) / 8 + 1500)
    keys = {"pcap": str(pcap)}
    _sipp(scenario, sip.port, tmp_path, keys=keys, pause_ms=hold_ms, transport=transport)
    _wait_idle(sip)
    (record,) = echo.calls.values()
    assert record.digits == "12"
    # Nearly all of the question arrived as audio (8 kHz 16-bit: 2 bytes a sample).
    assert record.audio_bytes >= 0.9 * len(question_pcm) * 2, record
    assert record.ended_by == "caller"


def test_bot_hangs_up_with_bye(sip, echo, question_pcm, tmp_path):
    pcap = write_pcap(tmp_path / "q.pcap", rtp_packets(question_pcm[:8000], dtmf="#"))
    _sipp("bot_hangup", sip.port, tmp_path, keys={"pcap": str(pcap)})
    _wait_idle(sip)
    assert [r.ended_by for r in echo.calls.values()] == ["hangup"]


def test_bot_transfer_sends_refer_to_the_target(sip_with, echo, question_pcm, tmp_path):
    sip = sip_with(sip_transfer_target="sip:1000@pbx.example")
    pcap = write_pcap(tmp_path / "q.pcap", rtp_packets(question_pcm[:8000], dtmf="0"))
    _sipp("transfer", sip.port, tmp_path, keys={"pcap": str(pcap)})
    _wait_idle(sip)
    assert [r.ended_by for r in echo.calls.values()] == ["transfer"]


def test_cancel_before_answer_gets_487(sip_with, echo, tmp_path):
    sip = sip_with(sip_ring_ms=5000)
    _sipp("cancel", sip.port, tmp_path)
    _wait_idle(sip)
    assert echo.calls == {}  # never answered, so the handler never ran


@pytest.mark.parametrize(
    ("limit", "status"),
    [
        ({"max_calls": 1}, 486),
        ({"max_calls": 1, "sip_busy_status": 503}, 503),
        ({"rtp_ports": 1}, 503),  # one RTP port: the second call finds none free
    ],
)
def test_call_past_capacity_is_refused(sip_with, question_pcm, tmp_path, limit, status):
    sip = sip_with(**limit)
    pcap = write_pcap(tmp_path / "q.pcap", rtp_packets(question_pcm[:8000]))
    first = subprocess.Popen(
        sipp_command("call", sip.port, keys={"pcap": str(pcap)}, pause_ms=8000),
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while sip.call(sip.server.active_calls) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sip.call(sip.server.active_calls) == 1, "the first call was not answered"
        _sipp(rejected_scenario(tmp_path, status), sip.port, tmp_path)
    finally:
        output, _ = first.communicate(timeout=60)
    assert first.returncode == 0, output[-3000:]


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_digest_authentication(sip_with, tmp_path, transport):
    sip = sip_with(sip_auth_user="trunk", sip_auth_password="s3cret")
    # the digest uri is the Request-URI (sipp's default would be remote_ip:remote_port)
    credentials = ("-au", "trunk", "-ap", "s3cret", "-auth_uri", f"agent@127.0.0.1:{sip.port}")
    _sipp("auth", sip.port, tmp_path, extra=credentials, transport=transport)
    _sipp(rejected_scenario(tmp_path, 401), sip.port, tmp_path)  # no credentials


def test_hold_and_resume_by_reinvite(sip, tmp_path):
    _sipp("hold", sip.port, tmp_path)
    _wait_idle(sip)


def test_twenty_concurrent_calls(sip, echo, question_pcm, tmp_path):
    pcap = write_pcap(tmp_path / "q.pcap", rtp_packets(question_pcm, dtmf="5"))
    hold_ms = int(len(question_pcm) / 8 + 2000)
    keys = {"pcap": str(pcap)}
    _sipp("call", sip.port, tmp_path, calls=20, keys=keys, pause_ms=hold_ms, timeout_s=120)
    _wait_idle(sip, timeout_s=20)
    assert len(echo.calls) == 20
    for record in echo.calls.values():
        assert record.digits == "5" and record.ended_by == "caller", record
        assert record.audio_bytes >= 0.9 * len(question_pcm) * 2, record
