"""Concurrent phone calls into a live agent while one of its servers fails.

`open_calls` places calls over the agent's WebSocket and waits until each has been greeted;
`ask` has a caller ask a question and reports what the agent did: answered (its reply audio)
and/or hung up. No step waits without a bound, so a hanging call fails the test instead of
stalling it. `wait_ready` waits for /readyz.
"""

import asyncio
import contextlib
import functools
import threading
import time
from collections.abc import Awaitable
from typing import TypeVar

import numpy as np
from agent_fixture import Agent

from pipeline.callers.voice import synthesize
from pipeline.callers.websocket_line import PhoneLine

ANSWER_S = 90  # after a fault, the agent answers or the call ends within this
END_S = 30  # an answered call then stays up this long (it goes on, it does not hang)
QUESTION = "Hi, I am calling to check on an order."
T = TypeVar("T")


async def until_closed_or(line: PhoneLine, work: Awaitable[T], timeout_s: float) -> T | None:
    """`work`'s result, or None when the line closes first (or `timeout_s` passes)."""
    task = asyncio.ensure_future(work)
    closed = asyncio.ensure_future(line.closed.wait())
    await asyncio.wait({task, closed}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    closed.cancel()
    if not task.done():
        task.cancel()
        return None
    return task.result()


async def open_calls(stack: contextlib.AsyncExitStack, agent: Agent, n: int) -> list[PhoneLine]:
    """`n` calls, each greeted by the agent (asserted)."""
    lines = [await stack.enter_async_context(PhoneLine(agent.ws_url)) for _ in range(n)]
    started = time.monotonic()
    greetings = await asyncio.gather(
        *(line.wait_agent_turn(started, timeout_s=120) for line in lines)
    )
    assert all(greetings), f"not every call was greeted\n{agent.log()[-3000:]}"
    return lines


_SYNTHESIS = threading.Lock()


def _question() -> np.ndarray:
    with _SYNTHESIS:
        return _synthesized(QUESTION)


_synthesized = functools.cache(synthesize)


async def ask(line: PhoneLine, wait_end: bool = True) -> dict[str, object]:
    """The caller asks QUESTION; returns the agent's reply audio and whether the call ended.
    With `wait_end`, an answered call is watched for END_S more to see whether it ends.
    (Piper runs in a thread, once: a synthesis in the event loop would stall every line's
    20 ms packets, and the agent would see late audio that is the caller's fault.)"""
    question = await asyncio.to_thread(_question)
    asked = await until_closed_or(line, line.say(question), timeout_s=60)
    reply: list = []
    if asked is not None:
        reply = await line.wait_agent_turn(asked[1], quiet_s=1.0, timeout_s=ANSWER_S)
    if wait_end and not line.closed.is_set():
        await until_closed_or(line, asyncio.sleep(END_S), timeout_s=END_S)
    audio = np.concatenate([p.pcm for p in reply]) if reply else np.zeros(0, np.int16)
    return {"reply": audio, "closed": line.closed.is_set()}


def wait_ready(agent: Agent, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while agent.get("/readyz") != 200:
        assert time.monotonic() < deadline, f"not ready again\n{agent.log()[-3000:]}"
        time.sleep(1)
