"""The simulated caller's line when the agent hangs up mid-utterance: say() must return,
not wait forever for packets that can no longer go out (bench calls hung on this)."""

import asyncio
import json

import numpy as np
import websockets

from pipeline.callers.websocket_line import PhoneLine


async def _agent_hanging_up_after(packets: int, port_ready: asyncio.Future) -> None:
    async def handler(ws: websockets.ServerConnection) -> None:
        media = 0
        async for raw in ws:
            if json.loads(raw).get("event") == "media":
                media += 1
                if media >= packets:
                    await ws.close()
                    return

    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port_ready.set_result(server.sockets[0].getsockname()[1])
        await asyncio.Future()  # serve until cancelled


async def _say_into_a_hang_up() -> tuple[float, float, bool, float]:
    ready: asyncio.Future = asyncio.get_running_loop().create_future()
    agent = asyncio.create_task(_agent_hanging_up_after(10, ready))
    port = await ready
    five_seconds = np.full(5 * 16000, 2000, dtype=np.int16)
    loop = asyncio.get_running_loop()
    try:
        async with PhoneLine(f"ws://127.0.0.1:{port}/ws") as line:
            began = loop.time()
            first, last = await asyncio.wait_for(line.say(five_seconds), timeout=4.0)
            took = loop.time() - began
            again = await asyncio.wait_for(line.say(five_seconds), timeout=1.0)
            return took, last - first, line.closed.is_set(), again[1] - again[0]
    finally:
        agent.cancel()


def test_say_returns_when_the_agent_hangs_up_mid_utterance() -> None:
    took, sent_s, closed, second_sent_s = asyncio.run(_say_into_a_hang_up())
    assert closed
    assert took < 3.0  # 5 s of audio, cut off after about 10 packets (0.2 s)
    assert sent_s < 3.0
    assert second_sent_s == 0.0  # a closed line sends nothing
