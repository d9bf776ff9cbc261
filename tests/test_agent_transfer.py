"""When the AI cannot help, a person can (SIP, sipp as the caller's side): asking for an agent
or pressing 0 transfers at once, without the LLM; an LLM that stays down transfers instead of
hanging up. Each REFER carries an RFC 7433 User-to-User header (sipp checks it), and the
handoff file (context and transcript so far) is written under agent.handoff_dir."""

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from agent_fixture import Agent, sip_settings, start_agent
from prometheus_client import REGISTRY
from sip_peers import rtp_packets, run_sipp, sipp_report, write_pcap
from speech_server_fixture import free_port

from pipeline.callers.voice import synthesize
from pipeline.intake.calls import CallIntake
from pipeline.intake.sip import start_sip
from pipeline.settings import Settings, load_settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TARGET = "sip:1000@pbx.example"
RTP_MIN = 33000
GREETING_S = 10  # the caller lets the greeting play first


@pytest.fixture(scope="module")
def handoffs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("handoffs")


@pytest.fixture(scope="module")
def agent(handoffs: Path):
    running = start_agent(
        **sip_settings(RTP_MIN),
        AGENT__SIP_TRANSFER_TARGET=TARGET,
        AGENT__HANDOFF_DIR=handoffs,
    )
    yield running
    running.stop()


def _transfer(port: int, tmp_path: Path, speech: str = "", dtmf: str = "") -> str:
    """sipp (transfer_context.xml) plays the greeting's silence, then `speech` and `dtmf`, and
    expects REFER with User-to-User; returns its report when it failed, else ""."""
    audio = np.zeros(GREETING_S * 8000, np.int16)
    if speech:  # then silence, as a phone line keeps sending it
        silence = np.zeros(3 * 8000, np.int16)
        audio = np.concatenate([audio, synthesize(speech, 8000), silence])
    pcap = write_pcap(tmp_path / "caller.pcap", rtp_packets(audio, dtmf=dtmf))
    result = run_sipp("transfer_context", port, tmp_path, keys={"pcap": str(pcap)}, timeout_s=90)
    return "" if result.returncode == 0 else sipp_report(result, tmp_path)


def _handoff(folder: Path, reason: str) -> dict:
    found = [json.loads(p.read_text()) for p in folder.glob("*.json")]
    matching = [h for h in found if h["reason"] == reason]
    assert matching, found
    return matching[-1]


@pytest.mark.parametrize(
    ("speech", "dtmf", "reason"),
    [
        ("Can I talk to a representative, please?", "", "the caller asked for a person"),
        ("", "0", "the caller pressed 0"),
    ],
)
def test_asking_for_a_person_transfers_without_the_llm(
    agent: Agent, handoffs: Path, tmp_path: Path, speech: str, dtmf: str, reason: str
) -> None:
    port = int(agent.env["SWITCHBOARD_AGENT__SIP_PORT"])
    failure = _transfer(port, tmp_path, speech, dtmf)
    assert not failure, failure + agent.log()[-4000:]
    assert f"{reason}; transferring without the LLM" in agent.log()
    handoff = _handoff(handoffs, reason)
    assert handoff["call_id"].startswith("sip-")
    assert handoff["transcript"][0]["role"] == "agent"  # the greeting
    if speech:
        said = [t["text"].lower() for t in handoff["transcript"] if t["role"] == "caller"]
        assert any("representative" in text for text in said), handoff


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@contextmanager
def sip_agent_in_process(settings: Settings) -> Iterator[None]:
    """The agent's SIP carrier on its own event loop in a thread of this process."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(start_sip(CallIntake(settings)), loop).result(60)
    try:
        yield
    finally:
        asyncio.run_coroutine_threadsafe(server.close(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)


def test_an_llm_that_stays_down_transfers_instead_of_hanging_up(
    agent: Agent, tmp_path: Path
) -> None:
    closed = f"127.0.0.1:{free_port()}"
    settings = load_settings(
        asr={"server": agent.speech_address, "model": "whisper-tiny.en"},
        tts={"server": agent.speech_address, "voice": "English-US.Male-Joe"},
        llm={"base_url": f"http://{closed}/v1"},
        agent={
            "sip_port": free_port(),
            "rtp_port_min": RTP_MIN + 200,
            "rtp_port_max": RTP_MIN + 299,
            "sip_transfer_target": TARGET,
            "handoff_dir": tmp_path / "handoffs",
            "metrics_port": 0,
        },
    )
    before = _sample("switchboard_agent_calls_total", outcome="transferred")
    with sip_agent_in_process(settings):
        failure = _transfer(settings.agent.sip_port, tmp_path, "Hi, I am calling about an order.")
        deadline = time.monotonic() + 10
        while _sample("switchboard_agent_calls_total", outcome="transferred") == before:
            assert time.monotonic() < deadline, "the call was not counted as transferred"
            time.sleep(0.2)
    assert not failure, failure
    handoff = _handoff(tmp_path / "handoffs", "llm is down")
    assert any("order" in t["text"].lower() for t in handoff["transcript"]), handoff
