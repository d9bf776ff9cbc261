"""The AudioSocket listener of `switchboard serve`: each TCP connection is a call.

In: connections from Asterisk on agent.host:agent.audiosocket_port (0: no listener), and the
web app's state (`calls` in progress, `draining`), which AudioSocket calls share with WebSocket
calls. Out: each call, once its UUID frame arrives, runs the agent's pipeline
(`run_phone_call`) over an `AudioSocketLeg` until either side hangs up. A connection that
breaks the protocol, or arrives while the agent drains, is hung up and logged; every call
runs in its own task, so one call's failure never reaches another.
"""

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import State

from pipeline.agent.metrics import CALLS
from pipeline.agent.tools import load_orders
from pipeline.settings import Settings
from pipeline.telephony.audiosocket import (
    HANGUP,
    AudioSocketError,
    AudioSocketLeg,
    frame,
    read_call_id,
)
from pipeline.telephony.phone_call import run_phone_call

log = logging.getLogger(__name__)

UUID_TIMEOUT_S = 5.0  # a connection must say which call it is within this


class AudioSocketServer:
    def __init__(
        self, settings: Settings, orders: Mapping[str, Mapping[str, Any]], state: State
    ) -> None:
        self.settings = settings
        self.orders = orders
        self.state = state  # .calls and .draining, shared with the web app
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> asyncio.Server:
        self._server = await asyncio.start_server(self._accept, host, port)
        return self._server

    def close(self) -> None:
        """Stop listening; calls in progress go on until they end."""
        if self._server is not None:
            self._server.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            call_id = await read_call_id(reader, UUID_TIMEOUT_S)
            if self.state.draining:
                raise AudioSocketError("the agent is draining; no new calls")
        except (AudioSocketError, TimeoutError, asyncio.IncompleteReadError) as exc:
            reason = str(exc) or type(exc).__name__
            log.error("AudioSocket connection from %s refused: %s", peer, reason)
            CALLS.labels("refused").inc()
            writer.write(frame(HANGUP))
            writer.close()
            return
        leg = AudioSocketLeg(call_id, reader, writer)
        self.state.calls += 1
        try:
            await self._run(leg)
        except Exception:
            log.exception("AudioSocket call %s failed", call_id)  # counted by run_call
        finally:
            self.state.calls -= 1
            await leg.close()

    async def _run(self, leg: AudioSocketLeg) -> None:
        await run_phone_call(leg, f"audiosocket-{leg.call_id}", self.settings, self.orders)


async def start_audiosocket(settings: Settings, state: State) -> AudioSocketServer | None:
    """The listener on agent.host:agent.audiosocket_port, or None when that port is 0."""
    agent = settings.agent
    if not agent.audiosocket_port:
        return None
    server = AudioSocketServer(settings, load_orders(agent.orders_file), state)
    try:
        await server.start(agent.host, agent.audiosocket_port)
    except OSError as exc:
        raise SystemExit(
            f"switchboard serve: cannot listen for AudioSocket on {agent.host}:"
            f"{agent.audiosocket_port} ({exc.strerror}); set agent.audiosocket_port "
            "(SWITCHBOARD_AGENT__AUDIOSOCKET_PORT) to a free port, or 0 for no listener"
        ) from exc
    log.info("AudioSocket calls on tcp://%s:%d", agent.host, agent.audiosocket_port)
    return server
