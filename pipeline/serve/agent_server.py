"""The agent taking calls: every listener of `switchboard serve` in one event loop.

In: settings whose endpoints answer (or the CPU stand-ins' settings). Out: the turn engine
loaded before the first call, Prometheus metrics on agent.metrics_port, the WebSocket and health
app (pipeline/serve/app.py) on agent.websocket_port and agent.health_port, the AudioSocket
listener and the SIP server, all taking calls through one `CallIntake` (one allow-list, one
agent.max_calls over every carrier; the peer of a call is always the TCP or UDP source
address, forwarded headers are not trusted); the first SIGTERM or Ctrl-C drains
(pipeline/serve/drain.py), then the listeners close and `serve_calls` returns 0.
"""

import asyncio
import logging
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pipeline.settings import Settings

if TYPE_CHECKING:
    import uvicorn

    from pipeline.intake.calls import CallIntake

log = logging.getLogger("switchboard.serve")
WS_MAX_BYTES = 64 * 1024  # a Twilio media message is about 400 bytes; "start" a few KB


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def check_then_serve(settings: Settings) -> int:
    """Fail fast when an endpoint in the settings does not answer (stderr, exit 1), else
    `serve_calls`."""
    from pipeline.agent.endpoints import EndpointError, check_endpoints

    try:
        check_endpoints(settings)
    except EndpointError as exc:
        print(f"switchboard serve: {exc}", file=sys.stderr)
        return 1
    return serve_calls(settings)


def serve_calls(settings: Settings) -> int:
    """Take calls until a signal has drained them; returns the exit code."""
    from prometheus_client import start_http_server

    from pipeline.intake.calls import CallIntake
    from pipeline.process_memory import freeze_loaded_objects
    from pipeline.serve.app import create_app
    from pipeline.serve.drain import DrainingServer
    from pipeline.turn.engine_registry import shared_engine

    agent = settings.agent
    shared_engine(settings.turn)  # load Smart Turn now, not on the first call
    if agent.metrics_port:
        start_http_server(agent.metrics_port, addr=agent.host)
    ports = sorted({agent.websocket_port, agent.health_port})
    sockets = [_listen(agent.host, port) for port in ports]
    intake = CallIntake(settings)
    app = create_app(settings, intake)
    server = DrainingServer(http_config(app), intake, agent.drain_timeout_s)
    log.debug("froze %d objects loaded at startup", freeze_loaded_objects())
    log.info(
        "ready: calls on ws://%s:%d%s, health on http://%s:%d/readyz",
        agent.host,
        agent.websocket_port,
        agent.websocket_path,
        agent.host,
        agent.health_port,
    )
    asyncio.run(_serve_calls(server, sockets, intake))
    return 0


def call_threads(max_calls: int) -> int:
    """Threads of the event loop's default executor: Pipecat's Riva STT holds one for each
    call's whole stream and its TTS one per synthesis (asyncio.to_thread), so asyncio's default
    (cores + 4) would starve calls past a handful; three a call, plus some for the rest."""
    return 3 * max_calls + 8


def http_config(app: Any) -> "uvicorn.Config":
    """uvicorn's settings for the agent's WebSocket/health app: the peer is the TCP source
    address (X-Forwarded-For ignored), and a WebSocket message over WS_MAX_BYTES closes the
    call's socket (1009) instead of being buffered."""
    import uvicorn

    return uvicorn.Config(
        app,
        log_level="warning",
        timeout_graceful_shutdown=5,
        proxy_headers=False,
        ws_max_size=WS_MAX_BYTES,
    )


async def _serve_calls(server: Any, sockets: list[socket.socket], intake: "CallIntake") -> None:
    """The WebSocket/health app, the AudioSocket listener and the SIP server, in one event
    loop; they take calls through one `CallIntake` (calls in progress, draining)."""
    from pipeline.intake.audiosocket import start_audiosocket
    from pipeline.intake.sip import start_sip

    threads = call_threads(intake.settings.agent.max_calls)
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=threads, thread_name_prefix="agent-io")
    )
    audiosocket = await start_audiosocket(intake)
    sip = await start_sip(intake) if intake.settings.agent.sip_port else None
    try:
        await server.serve(sockets=sockets)
    finally:
        if audiosocket is not None:
            audiosocket.close()
        if sip is not None:
            await sip.close()
