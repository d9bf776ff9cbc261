"""The agent in CPU mode through its real WebSocket transport: barge-in, then the LLM server
and the speech server killed during a few concurrent calls (no call hangs: each goes on or
ends, with a spoken apology when TTS is up; serve and the other child stay up; the log names
what failed). One `serve --cpu` for the module; the failure tests run last."""

import asyncio
import contextlib
import time

import numpy as np
import psutil
import pytest
from agent_fixture import Agent, start_agent
from fault_calls import ask, open_calls, wait_ready

from pipeline.callers.transcribe import transcribe
from pipeline.callers.voice import synthesize
from pipeline.callers.websocket_line import PhoneLine

pytestmark = pytest.mark.slow

VAD_START_S = 0.2  # Silero's start_secs: speech must last this long before VAD reports it
STOP_BUDGET_S = 0.3  # the agent stops speaking within this after VAD reports the caller
CALLS_AT_ONCE = 3  # concurrent calls in the fault tests


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


async def _logged(agent: Agent, marker: str, count: int, timeout_s: float = 90) -> None:
    """Wait until the agent's log has `count` more `marker` lines than now."""
    target = agent.log().count(marker) + count
    deadline = time.monotonic() + timeout_s
    while agent.log().count(marker) < target and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def _calls_through_death(
    agent: Agent, child: str, when_logged: str | None
) -> tuple[int, list[dict[str, object]]]:
    """CALLS_AT_ONCE calls are greeted and each caller asks; `child` is killed before they
    ask, or, with `when_logged`, once that line is in the log once per call (mid-answer)."""
    async with contextlib.AsyncExitStack() as stack:
        lines = await open_calls(stack, agent, CALLS_AT_ONCE)
        killed = agent.child(child)
        if when_logged is None:
            killed.kill()
            results = await asyncio.gather(*(ask(line) for line in lines))
        else:
            asking = asyncio.gather(*(ask(line) for line in lines))
            await _logged(agent, when_logged, CALLS_AT_ONCE)
            killed.kill()
            results = await asking
    return killed.pid, results


def _kill_during_calls(
    agent: Agent, child: str, other: str, when_logged: str | None = None
) -> tuple[int, list, str]:
    """Kill `child` during CALLS_AT_ONCE calls; serve and `other` must stay up, the log must
    name the exit. Returns the killed pid, each call's result, and the log."""
    wait_ready(agent)
    other_pid = agent.child(other).pid
    killed, results = asyncio.run(_calls_through_death(agent, child, when_logged))
    exited = f"{child} (pid {killed}) exited"
    deadline = time.monotonic() + 15  # the supervisor polls; on a busy machine it logs late
    while exited not in agent.log() and time.monotonic() < deadline:
        time.sleep(0.2)
    log = agent.log()
    assert agent.process.poll() is None, "serve died"
    assert agent.get("/healthz") == 200
    assert agent.child(other).pid == other_pid, f"the {other} was restarted"
    assert exited in log
    return killed, results, log


def test_llm_server_killed_during_calls(agent: Agent) -> None:
    # Killed while it answers the three questions (each call's request is in flight).
    killed, results, log = _kill_during_calls(
        agent, "llm-server", other="speech-server", when_logged="Generating LLM response"
    )
    for result in results:
        # TTS is up, so every caller hears something: the answer (finished before the kill,
        # or by the one retry once the supervisor restarted the server) or the apology,
        # after which the agent hangs up.
        assert len(result["reply"]), log[-4000:]
        if result["closed"]:
            said = transcribe(result["reply"], agent.speech_address).lower()
            assert "sorry" in said, said
    # The kill hit requests in flight: each was retried once (before any words of it were
    # spoken) or failed; a call whose request failed for good was apologized to.
    assert "retrying once" in log or "llm failed" in log, log[-4000:]
    if any(r["closed"] for r in results):
        assert "llm failed" in log and "apologizing to the caller" in log, log[-4000:]
    assert agent.child("llm-server").pid != killed


def test_speech_server_killed_during_calls(agent: Agent) -> None:
    _, results, log = _kill_during_calls(agent, "speech-server", other="llm-server")
    for result in results:
        # With TTS gone no apology can be spoken: each call ends, unless the restarted
        # speech server came back in time for the agent to answer.
        assert result["closed"] or len(result["reply"]), log[-4000:]
    if any(r["closed"] for r in results):
        assert "stt failed" in log or "tts failed" in log, log[-4000:]
    # The agent recovers: once the speech server is back, a new call is greeted.
    wait_ready(agent)
    assert asyncio.run(_greeting(agent.ws_url)), log[-3000:]


async def _greeting(url: str) -> list:
    async with PhoneLine(url) as line:
        return await line.wait_agent_turn(time.monotonic(), timeout_s=60)


def _connections_to(process: psutil.Process, port: int) -> list:
    return [c for c in process.net_connections(kind="tcp") if c.raddr and c.raddr.port == port]


async def _one_answered_call(agent: Agent) -> dict[str, object]:
    async with contextlib.AsyncExitStack() as stack:
        (line,) = await open_calls(stack, agent, 1)
        return await ask(line, wait_end=False)


def test_a_finished_call_leaves_no_connection_to_the_llm_server(agent: Agent) -> None:
    """Each call's LLM client is closed with the call (Pipecat 1.14 leaves it open, keeping
    a socket and its memory per finished call: the agent's soak growth)."""
    wait_ready(agent)
    llm = agent.child("llm-server")
    port = next(c.laddr.port for c in llm.net_connections(kind="tcp") if c.status == "LISTEN")
    result = asyncio.run(_one_answered_call(agent))
    assert len(result["reply"]) > 0, "the agent did not answer"
    serve = psutil.Process(agent.process.pid)
    deadline = time.monotonic() + 15
    while _connections_to(serve, port) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _connections_to(serve, port), _connections_to(serve, port)
