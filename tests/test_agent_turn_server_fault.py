"""The agent with its turns on Triton (turn.engine=triton, a live `switchboard turn-server`)
while the turn server is killed and restarted during a few concurrent calls: turns still
end (the in-process engine takes over), every call goes on and is answered, the agent's
other servers stay up, the log names the failure, and turns go back to Triton once it is
ready again. Speech and LLM come from `serve --cpu`."""

import asyncio
import contextlib
import re

import pytest
from agent_fixture import Agent, start_agent
from fault_calls import ask, open_calls, wait_ready
from triton_server_fixture import turn_server  # noqa: F401

from pipeline.bench.turn.turn_server_process import TurnServerProcess

pytestmark = pytest.mark.slow

CALLS_AT_ONCE = 3


async def _calls_through_turn_server_death(agent: Agent, server: TurnServerProcess) -> dict:
    async with contextlib.AsyncExitStack() as stack:
        lines = await open_calls(stack, agent, CALLS_AT_ONCE)
        await asyncio.to_thread(server.kill)
        down = await asyncio.gather(*(ask(line, wait_end=False) for line in lines))
        await asyncio.to_thread(server.start)
        served_before = server.metrics().get("nv_inference_count", 0)
        up = await asyncio.gather(*(ask(line, wait_end=False) for line in lines))
        served_after = server.metrics().get("nv_inference_count", 0)
        closed = [line.closed.is_set() for line in lines]
        calls = [line.stream_sid for line in lines]
    served = served_after - served_before
    return {"down": down, "up": up, "closed": closed, "calls": calls, "served": served}


def _unanswered(results: list[dict], calls: list[str], log: str) -> list[str]:
    """Calls the agent neither answered nor logged a failed service for (a silent agent)."""
    return [
        call
        for result, call in zip(results, calls, strict=True)
        if not len(result["reply"]) and not re.search(rf"call {call}: \w+ failed \(", log)
    ]


def test_turn_server_killed_and_restarted_during_calls(turn_server) -> None:  # noqa: F811
    agent = start_agent(
        TURN__ENGINE="triton", TURN__TRITON_URL=turn_server.url, TURN__TRITON_FAILOVER="local"
    )
    try:
        wait_ready(agent)
        children = {name: agent.child(name).pid for name in ("speech-server", "llm-server")}
        result = asyncio.run(_calls_through_turn_server_death(agent, turn_server))
        log = agent.log()
        alive = agent.process.poll() is None
        after = {name: agent.child(name).pid for name in children}
    finally:
        survivors = agent.stop()
    # Every caller's turn ended while Triton was down (the in-process engine decided it) ...
    asked = log.split("Triton failing", 1)[-1].count("pipeline.agent.call: caller: ")
    assert asked >= 2 * CALLS_AT_ONCE, f"turns did not end\n{log[-4000:]}"
    # ... and the agent answered each question, or its log names the service that failed.
    for phase in ("down", "up"):
        assert not _unanswered(result[phase], result["calls"], log), (phase, log[-4000:])
    assert not any(result["closed"]), "a call ended"
    assert alive and after == children, (children, after)
    assert "Triton failing" in log or "is not ready: turns use the backup" in log
    assert f"Triton at {turn_server.url} is ready again" in log
    assert result["served"] > 0, "no turn went back to Triton"
    assert not survivors
