"""A glitch is not a hang-up (`serve --cpu`, real stand-ins): the llm-server killed while it
answers, or the speech-server killed while the caller is silent, is back (the supervisor
restarts it) within agent.retry_backoff_s; the agent's one retry reaches it and the call goes
on: the caller hears the answer, no apology, the line stays up. (That a service that stays
down still ends the call with the apology: tests/test_agent_apology.py, test_agent_e2e.py.)"""

import asyncio
import contextlib
import time

import pytest
from agent_fixture import Agent, start_agent
from fault_calls import ask, open_calls, wait_ready

from pipeline.callers.transcribe import transcribe

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

RETRY_BACKOFF_S = 8.0  # covers a stand-in's restart (the supervisor's 1 s, then its start)
STAYS_UP_S = 5.0  # after the answer, the call is still up this long later


@pytest.fixture(scope="module")
def agent():
    running = start_agent(
        AGENT__RETRY_BACKOFF_S=RETRY_BACKOFF_S,
        AGENT__IDLE_PROMPT_S=0,  # the caller waits silently here: no idle prompt
        AGENT__IDLE_HANGUP_S=0,
    )
    yield running
    running.stop()


async def _logged(agent: Agent, marker: str, timeout_s: float = 90) -> None:
    target = agent.log().count(marker) + 1
    deadline = time.monotonic() + timeout_s
    while agent.log().count(marker) < target and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def _call_through(agent: Agent, child: str, when_logged: str | None) -> dict:
    """One greeted call; `child` is killed (once `when_logged` is logged, after the caller
    asks; else before). The agent's reply, and whether the call had ended STAYS_UP_S after."""
    async with contextlib.AsyncExitStack() as stack:
        (line,) = await open_calls(stack, agent, 1)
        killed = agent.child(child)
        if when_logged is None:
            killed.kill()
            await asyncio.sleep(RETRY_BACKOFF_S + 2)  # the caller is silent meanwhile
            result = await ask(line, wait_end=False)
        else:
            asking = asyncio.ensure_future(ask(line, wait_end=False))
            await _logged(agent, when_logged)
            killed.kill()
            result = await asking
        await asyncio.sleep(STAYS_UP_S)
        return result | {"closed": line.closed.is_set()}


@pytest.mark.parametrize(
    ("child", "when_logged", "retried"),
    [
        ("llm-server", "Generating LLM response", "LLM request failed"),
        ("speech-server", None, "ASR stream lost"),
    ],
)
def test_a_restarted_stand_in_is_retried_and_the_call_goes_on(
    agent: Agent, child: str, when_logged: str | None, retried: str
) -> None:
    wait_ready(agent)
    before = agent.log().count("apologizing to the caller")
    result = asyncio.run(_call_through(agent, child, when_logged))
    log = agent.log()
    assert retried in log, log[-4000:]
    assert log.count("apologizing to the caller") == before, log[-4000:]
    assert not result["closed"], f"the call ended\n{log[-4000:]}"
    said = transcribe(result["reply"], agent.speech_address).lower()
    # The model's own answer (the small stand-in may well say "sorry"), not the apology.
    assert said and "technical trouble" not in said, (said, log[-4000:])
