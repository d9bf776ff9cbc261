"""SIP calls to a live agent (`serve --cpu --sip-port`): baresip asks about an order and
records the agent's spoken answer, which, transcribed, is about that order; a sipp caller who
asks for a person is transferred with REFER to agent.sip_transfer_target."""

import asyncio
import subprocess
import sys
import time

import numpy as np
import pytest
from agent_fixture import REPO, Agent, start_agent
from baresip_peer import baresip_call
from sip_peers import rtp_packets, run_sipp, sipp_report, write_pcap
from speech_server_fixture import free_port

from pipeline.callers.sip_line import SipPhoneLine
from pipeline.callers.transcribe import transcribe
from pipeline.callers.voice import synthesize

pytestmark = pytest.mark.timeout(600)
QUESTION = "Hi, my order number is one two three four. Where is it?"
ORDER_WORDS = ("kettle", "shipped", "friday", "1234", "order")
RTP_MIN = 29000


@pytest.fixture(scope="module")
def agent():
    running = start_agent(
        AGENT__SIP_PORT=free_port(),
        AGENT__RTP_PORT_MIN=RTP_MIN,
        AGENT__RTP_PORT_MAX=RTP_MIN + 99,
        AGENT__SIP_TRANSFER_TARGET="sip:1000@pbx.example",
    )
    yield running
    running.stop()


def _sip_port(agent: Agent) -> int:
    return int(agent.env["SWITCHBOARD_AGENT__SIP_PORT"])


def test_baresip_question_gets_a_spoken_answer_about_it(agent, tmp_path):
    # The agent greets first (the caller waits it out); then two shared cores may take tens
    # of seconds to transcribe, look the order up and speak.
    greeting_s, answer_s = 10, 45
    question = synthesize(QUESTION, 8000)
    line = np.concatenate(
        [np.zeros(greeting_s * 8000, np.int16), question, np.zeros(answer_s * 8000, np.int16)]
    )
    uri = f"sip:agent@127.0.0.1:{_sip_port(agent)}"
    call = baresip_call(uri, line, tmp_path, (RTP_MIN + 500, RTP_MIN + 599))
    assert len(call.heard) >= 0.9 * len(line), call.output[-3000:]
    greeting = transcribe(call.heard[: greeting_s * 8000], agent.speech_address)
    assert "calling" in greeting.lower() or "acme" in greeting.lower(), greeting
    after = call.heard[(greeting_s * 8000 + len(question)) :]
    answer = transcribe(after, agent.speech_address)
    assert any(word in answer.lower() for word in ORDER_WORDS), (answer, agent.log()[-4000:])
    assert "call sip-" in agent.log() and "ended" in agent.log()


def test_asking_for_a_person_transfers_with_refer(agent, tmp_path):
    speech = synthesize("Can I talk to a person, please?", 8000)
    # Silence after the words, as a phone line keeps sending: with none, the ASR's final
    # transcript comes only when its stream times out, after the agent's idle hang-up.
    silence = np.zeros(3 * 8000, np.int16)
    after_greeting = np.concatenate([np.zeros(10 * 8000, np.int16), speech, silence])
    pcap = write_pcap(tmp_path / "person.pcap", rtp_packets(after_greeting))
    # transfer.xml waits for the REFER (to the configured target), accepts it, reports
    # success with NOTIFY, then takes the agent's BYE.
    result = run_sipp(
        "transfer", _sip_port(agent), tmp_path, keys={"pcap": str(pcap)}, timeout_s=90
    )
    assert result.returncode == 0, sipp_report(result, tmp_path) + agent.log()[-4000:]


def test_sip_port_out_of_range_is_refused_before_anything_starts():
    command = [sys.executable, "-m", "pipeline.cli", "serve", "--sip-port", "70000"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--sip-port 70000 is not a port" in result.stderr


def test_bench_sip_caller_hears_the_greeting_gets_an_answer_and_hangs_up(agent):
    # The simulated SIP caller (pipeline/callers/sip_line.py), not an outside SIP phone: INVITE,
    # RTP both ways, BYE on the way out.
    question = synthesize(QUESTION, 16000)

    async def call() -> tuple[SipPhoneLine, list, list]:
        async with SipPhoneLine(f"sip:127.0.0.1:{_sip_port(agent)}") as line:
            greeting = await line.wait_agent_turn(time.monotonic(), quiet_s=1.0, timeout_s=60)
            _, last = await line.say(question)
            answer = await line.wait_agent_turn(last, quiet_s=1.5, timeout_s=120)
            return line, greeting, answer

    line, greeting, answer = asyncio.run(call())
    assert len(greeting) >= 25, agent.log()[-4000:]  # half a second of speech and more
    assert len(answer) >= 25, agent.log()[-4000:]
    deadline = time.monotonic() + 10
    while f"call {line.stream_sid}: ended" not in agent.log() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert f"call {line.stream_sid}: ended" in agent.log(), agent.log()[-4000:]
