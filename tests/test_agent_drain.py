"""`serve --cpu` drains on SIGTERM: a real agent, a real call over its WebSocket transport.

While draining, /readyz answers 503 and a new call is refused (WebSocket close code 1013,
try again later), the call in progress goes on (the agent still answers it), and serve exits
once it hangs up; a call that outlasts agent.drain_timeout_s is ended and serve exits anyway.
No child outlives serve."""

import asyncio
import signal
import time

import pytest
import websockets
from agent_fixture import Agent, start_agent

from pipeline.callers.voice import synthesize
from pipeline.callers.websocket_line import PhoneLine

pytestmark = pytest.mark.slow

QUESTION = "Hi, I am calling to check on an order."


def _sigterm(agent: Agent) -> float:
    agent.signalled = agent.child_processes()
    agent.process.send_signal(signal.SIGTERM)
    return time.monotonic()


async def _refused(url: str) -> bool:
    """Whether a new call is refused as a draining agent refuses it: closed with 1013."""
    async with websockets.connect(url, open_timeout=10) as ws:
        await asyncio.wait_for(ws.wait_closed(), 10)
    return ws.close_code == 1013


async def _drain_then_hang_up(agent: Agent) -> dict[str, object]:
    async with PhoneLine(agent.ws_url) as line:
        greeting = await line.wait_agent_turn(time.monotonic(), timeout_s=90)
        _sigterm(agent)
        await asyncio.sleep(1.0)
        ready = await asyncio.to_thread(agent.get, "/readyz")
        refused = await _refused(agent.ws_url)
        _, sent = await line.say(synthesize(QUESTION))
        answer = await line.wait_agent_turn(sent, timeout_s=90)
        running_before_hang_up = agent.process.poll() is None
    return {
        "greeting": bool(greeting),
        "ready": ready,
        "refused": refused,
        "answer": bool(answer),
        "running": running_before_hang_up,
        "hung_up": time.monotonic(),
    }


def test_sigterm_refuses_new_calls_and_lets_the_call_in_progress_finish() -> None:
    agent = start_agent(AGENT__DRAIN_TIMEOUT_S=240)
    try:
        result = asyncio.run(_drain_then_hang_up(agent))
        code = agent.process.wait(timeout=30)
        stopped_after_s = time.monotonic() - result["hung_up"]
    finally:
        survivors = agent.stop()
    log = agent.log()
    assert result["greeting"], log[-3000:]
    assert result["ready"] == 503
    assert result["refused"], "a new call was accepted while draining"
    assert result["answer"], f"the agent stopped answering the call in progress\n{log[-3000:]}"
    assert result["running"], "serve exited before the call ended"
    assert stopped_after_s < 20, stopped_after_s
    assert code == 0, log[-3000:]
    assert not survivors, f"children outlived serve: {survivors}"
    assert "refused a call: draining" in log


async def _outlast_the_drain(agent: Agent) -> dict[str, float]:
    async with PhoneLine(agent.ws_url) as line:
        await line.wait_agent_turn(time.monotonic(), timeout_s=90)
        signalled = _sigterm(agent)
        await asyncio.wait_for(line.closed.wait(), timeout=60)
        closed_after_s = time.monotonic() - signalled
    return {"closed_after_s": closed_after_s}


def test_a_call_that_outlasts_the_drain_timeout_is_ended_and_serve_stops() -> None:
    agent = start_agent(AGENT__DRAIN_TIMEOUT_S=4)
    try:
        result = asyncio.run(_outlast_the_drain(agent))
        code = agent.process.wait(timeout=30)
    finally:
        survivors = agent.stop()
    log = agent.log()
    assert 3.5 <= result["closed_after_s"] <= 20, result
    assert code == 0, log[-3000:]
    assert not survivors, f"children outlived serve: {survivors}"
    assert "drain timeout (agent.drain_timeout_s = 4 s): ending 1 call(s)" in log
