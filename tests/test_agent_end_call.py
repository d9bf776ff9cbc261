"""The agent ends calls well (`serve --cpu`, real stand-ins): a caller's goodbye gets the
agent's goodbye and a hang-up on each carrier (the WebSocket closed, an AudioSocket hang-up
frame, a SIP BYE to sipp), and a silent caller is prompted, then told goodbye and hung up on
(agent.idle_prompt_s, agent.idle_hangup_s). One agent for the module."""

import asyncio
import re
import time

import numpy as np
import pytest
from agent_fixture import Agent, sip_settings, start_agent
from audiosocket_line import AudioSocketLine
from sip_peers import rtp_packets, run_sipp, sipp_report, write_pcap

from pipeline.callers.transcribe import transcribe
from pipeline.callers.voice import synthesize
from pipeline.callers.websocket_line import PhoneLine

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

GOODBYE = "Great, thank you. That is all, goodbye."
HANG_UP_S = 20  # after the caller's goodbye, the agent has said goodbye and hung up by then
IDLE_PROMPT_S, IDLE_HANGUP_S = 4.0, 9.0
RTP_MIN = 31000


@pytest.fixture(scope="module")
def agent():
    running = start_agent(
        **sip_settings(RTP_MIN),
        AGENT__IDLE_PROMPT_S=IDLE_PROMPT_S,
        AGENT__IDLE_HANGUP_S=IDLE_HANGUP_S,
    )
    yield running
    running.stop()


def _letters(packets: list, agent: Agent) -> str:
    """What the caller heard, as Whisper wrote it, in lower-case letters only (Whisper may
    write "goodbye" as "good. bye.")."""
    pcm = np.concatenate([p.pcm for p in packets]) if packets else np.zeros(0, np.int16)
    text = transcribe(pcm, agent.speech_address) if len(pcm) else ""
    return re.sub(r"[^a-z]", "", text.lower())


async def _say_goodbye(line: PhoneLine, goodbye: np.ndarray) -> tuple[list, float | None]:
    """The greeting waited out, the caller's goodbye; the agent's answer and how long after
    the caller's goodbye the line closed (None: still open after HANG_UP_S)."""
    assert await line.wait_agent_turn(time.monotonic(), quiet_s=1.0, timeout_s=120), "no greeting"
    _, sent = await line.say(goodbye)
    answer = await line.wait_agent_turn(sent, timeout_s=HANG_UP_S)
    try:
        await asyncio.wait_for(line.closed.wait(), max(sent + HANG_UP_S - time.monotonic(), 0.1))
    except TimeoutError:
        return answer, None
    return answer, time.monotonic() - sent


@pytest.mark.parametrize("carrier", ["websocket", "audiosocket"])
def test_a_goodbye_gets_a_goodbye_and_the_hang_up(agent: Agent, carrier: str) -> None:
    goodbye = synthesize(GOODBYE)  # before dialling: no gap after the greeting

    async def call() -> tuple[list, float | None, float | None]:
        line = (
            PhoneLine(agent.ws_url)
            if carrier == "websocket"
            else AudioSocketLine(agent.audiosocket)
        )
        async with line:
            answer, closed_after = await _say_goodbye(line, goodbye)
            return answer, closed_after, getattr(line, "hung_up_at", None)

    answer, closed_after, hung_up_at = asyncio.run(call())
    log = agent.log()
    assert closed_after is not None, f"the agent did not hang up\n{log[-4000:]}"
    assert "goodbye" in _letters(answer, agent), log[-4000:]
    assert "tool end_call(" in log
    if carrier == "audiosocket":
        assert hung_up_at is not None, "no AudioSocket hang-up frame"


def test_a_goodbye_over_sip_ends_with_the_agents_bye(agent: Agent, tmp_path) -> None:
    speech = synthesize(GOODBYE, 8000)
    after_greeting = np.concatenate([np.zeros(10 * 8000, np.int16), speech])
    pcap = write_pcap(tmp_path / "goodbye.pcap", rtp_packets(after_greeting))
    # bot_hangup.xml dials, plays the pcap and waits for the agent's BYE.
    port = int(agent.env["SWITCHBOARD_AGENT__SIP_PORT"])
    result = run_sipp("bot_hangup", port, tmp_path, keys={"pcap": str(pcap)}, timeout_s=60)
    assert result.returncode == 0, sipp_report(result, tmp_path) + agent.log()[-4000:]
    assert "tool end_call(" in agent.log()


def test_a_silent_caller_is_prompted_then_hung_up(agent: Agent) -> None:
    async def call() -> tuple[list, list, float]:
        async with PhoneLine(agent.ws_url) as line:
            greeting = await line.wait_agent_turn(time.monotonic(), timeout_s=120)
            assert greeting, "no greeting"
            prompt = await line.wait_agent_turn(greeting[-1].at + 0.5, timeout_s=30)
            assert prompt, "no prompt"
            goodbye = await line.wait_agent_turn(prompt[-1].at + 0.5, timeout_s=30)
            await asyncio.wait_for(line.closed.wait(), 20)
            return prompt, goodbye, prompt[0].at - greeting[-1].at

    prompt, goodbye, prompt_after_s = asyncio.run(call())
    # The prompt comes once the caller has been silent idle_prompt_s (plus the turn of the
    # VAD and the speech server's synthesis); the goodbye idle_hangup_s - idle_prompt_s later.
    assert IDLE_PROMPT_S <= prompt_after_s < IDLE_PROMPT_S + 5, prompt_after_s
    assert goodbye[0].at - prompt[-1].at >= IDLE_HANGUP_S - IDLE_PROMPT_S
    assert "stillthere" in _letters(prompt, agent)
    assert "goodbye" in _letters(goodbye, agent)
    assert "the caller stayed silent; hanging up" in agent.log()
