"""The agent in CPU mode through its real WebSocket transport: barge-in, and a child process
killed mid-call. One `serve --cpu` for the module; the failure test runs last."""

import asyncio
import time

import numpy as np
import pytest
from agent_fixture import Agent, start_agent

from pipeline.bench.caller_audio import synthesize
from pipeline.demo.phone_line import PhoneLine

pytestmark = pytest.mark.slow

VAD_START_S = 0.2  # Silero's start_secs: speech must last this long before VAD reports it
STOP_BUDGET_S = 0.3  # the agent stops speaking within this after VAD reports the caller


@pytest.fixture(scope="module")
def agent():
    running = start_agent()
    yield running
    survivors = running.stop()
    assert not survivors, f"children outlived serve: {survivors}"


def leading_silence_s(audio: np.ndarray, threshold: int = 500) -> float:
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > threshold)
    return (loud[0] if len(loud) else 0) / 16000


async def _barge_in(url: str) -> dict[str, float]:
    interruption = synthesize("Sorry, sorry, I need to ask about my order right now, please.")
    async with PhoneLine(url) as line:
        start = time.monotonic()
        while not line.speech_since(start) and time.monotonic() - start < 60:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.8)  # the agent is mid-greeting
        first_sent, last_sent = await line.say(interruption)
        onset = first_sent + leading_silence_s(interruption)
        talking_over = [p.at for p in line.packets if onset <= p.at <= last_sent and p.speech]
        speaking_before = [p.at for p in line.packets if onset - 0.3 <= p.at < onset and p.speech]
        clears = [at for at in line.clears if at >= onset]
    return {
        "speaking_before": len(speaking_before),
        "last_agent_speech": (talking_over[-1] if talking_over else onset) - onset,
        "clear": (clears[0] - onset) if clears else float("inf"),
    }


def test_caller_barges_in_and_agent_stops_within_300ms_of_vad(agent: Agent) -> None:
    result = asyncio.run(_barge_in(agent.ws_url))
    assert result["speaking_before"] > 0, "the agent was not speaking when the caller cut in"
    budget = VAD_START_S + STOP_BUDGET_S
    assert result["clear"] <= budget, (result, agent.log()[-3000:])
    assert result["last_agent_speech"] <= budget + 0.06, result  # one packet of jitter


async def _call_through_llm_death(agent: Agent) -> dict[str, object]:
    question = synthesize("Hi, I am calling to check on an order.")
    async with PhoneLine(agent.ws_url) as line:
        await line.wait_agent_turn(time.monotonic(), timeout_s=60)  # the greeting
        killed = agent.child("llm-server")
        killed.kill()
        _, sent = await line.say(question)
        during = await line.wait_agent_turn(sent, quiet_s=1.0, timeout_s=15)
        # The supervisor restarts the LLM server; ask again once it answers.
        deadline = time.monotonic() + 90
        while agent.get("/readyz") != 200 and time.monotonic() < deadline:
            await asyncio.sleep(1)
        after = []
        if not line.closed.is_set():
            _, sent = await line.say(question)
            after = await line.wait_agent_turn(sent, timeout_s=60)
    return {"pid": killed.pid, "during": during, "after": after, "closed": line.closed.is_set()}


def test_llm_server_killed_mid_call(agent: Agent) -> None:
    speech_pid = agent.child("speech-server").pid
    result = asyncio.run(_call_through_llm_death(agent))
    log = agent.log()
    # The call recovered (the agent answered after the restart) or ended cleanly.
    assert result["after"] or result["closed"], log[-4000:]
    assert agent.process.poll() is None, "serve died"
    assert agent.child("speech-server").pid == speech_pid, "the speech server was restarted"
    assert f"llm-server (pid {result['pid']}) exited" in log
    assert agent.get("/healthz") == 200
    assert agent.child("llm-server").pid != result["pid"]
