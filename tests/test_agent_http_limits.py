"""The agent's WebSocket port under uvicorn as `serve` runs it: a message larger than
WS_MAX_BYTES closes the socket (1009) instead of being buffered."""

import asyncio

import pytest
import uvicorn
import websockets

from pipeline.bench.localhost import free_port
from pipeline.serve.agent_server import WS_MAX_BYTES, http_config
from pipeline.serve.app import create_app
from pipeline.settings import Settings


async def test_an_oversized_websocket_message_closes_the_socket() -> None:
    config = http_config(create_app(Settings()))
    config.host, config.port = "127.0.0.1", free_port()
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        url = f"ws://127.0.0.1:{config.port}/ws"
        async with websockets.connect(url, max_size=None) as ws:
            await ws.send("x" * (WS_MAX_BYTES + 1))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    finally:
        server.should_exit = True
        await serving
