"""`switchboard serve`: take calls.

    switchboard serve          # endpoints from settings (NIMs); fails fast if one is down
    switchboard serve --cpu    # also starts the CPU speech server and LLM server itself

Calls arrive as Twilio-format WebSocket media streams on ws://HOST:agent.websocket_port
agent.websocket_path, from Asterisk AudioSocket on tcp://HOST:agent.audiosocket_port (0: off),
and over a SIP trunk (UDP and TCP) on --sip-port / agent.sip_port (0: off); /healthz and
/readyz answer on agent.health_port; Prometheus metrics on agent.metrics_port. SIGTERM (or
Ctrl-C) drains: new calls are refused and /readyz says 503 while the calls in progress finish,
for up to agent.drain_timeout_s; then the agent and every child it started stop. A second
signal stops at once.
"""

import argparse
import asyncio
import logging
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipeline.settings import Settings

log = logging.getLogger("switchboard.serve")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="the voice agent: calls over WebSocket (--cpu: with local speech and LLM servers)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--cpu", action="store_true", help="start the CPU stand-ins as children")
    parser.add_argument("--log-dir", type=Path, help="--cpu: where the children's logs go")
    parser.add_argument(
        "--sip-port",
        type=int,
        nargs="?",
        const=5060,
        metavar="PORT",
        help="take SIP calls (UDP and TCP) on PORT (5060 when omitted); sets agent.sip_port",
    )
    parser.set_defaults(func=run)


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def run(args: argparse.Namespace, settings: Settings) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # SIGTERM ends the server like Ctrl-C does, so the children are always stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    supervisor = None
    if args.sip_port is not None:
        if not 1 <= args.sip_port <= 65535:
            print(f"switchboard serve: --sip-port {args.sip_port} is not a port", file=sys.stderr)
            return 2
        agent = settings.agent.model_copy(update={"sip_port": args.sip_port})
        settings = settings.model_copy(update={"agent": agent})
    try:
        if args.cpu:
            from pipeline.serve.cpu_mode import cpu_children
            from pipeline.serve.supervisor import ChildFailed, Supervisor

            log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="switchboard-serve-"))
            log_dir.mkdir(parents=True, exist_ok=True)
            children, settings = cpu_children(settings, log_dir)
            log.info("CPU mode: children's logs in %s", log_dir)
            supervisor = Supervisor(children)
            try:
                supervisor.start(settings.agent.start_timeout_s)
            except ChildFailed as exc:
                print(f"switchboard serve: {exc}", file=sys.stderr)
                return 1
        else:
            from pipeline.agent.endpoints import EndpointError, check_endpoints

            try:
                check_endpoints(settings)
            except EndpointError as exc:
                print(f"switchboard serve: {exc}", file=sys.stderr)
                return 1
        return _serve(settings)
    except KeyboardInterrupt:
        log.info("stopping")
        return 0
    finally:
        if supervisor is not None:
            supervisor.stop()


def _serve(settings: Settings) -> int:
    import uvicorn
    from prometheus_client import start_http_server

    from pipeline.process_memory import freeze_loaded_objects
    from pipeline.serve.app import create_app
    from pipeline.serve.drain import DrainingServer
    from pipeline.turn.shared import shared_engine

    agent = settings.agent
    shared_engine(settings.turn)  # load Smart Turn now, not on the first call
    if agent.metrics_port:
        start_http_server(agent.metrics_port, addr=agent.host)
    ports = sorted({agent.websocket_port, agent.health_port})
    sockets = [_listen(agent.host, port) for port in ports]
    app = create_app(settings)
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)
    server = DrainingServer(config, app.state, agent.drain_timeout_s)
    log.debug("froze %d objects loaded at startup", freeze_loaded_objects())
    log.info(
        "ready: calls on ws://%s:%d%s, health on http://%s:%d/readyz",
        agent.host,
        agent.websocket_port,
        agent.websocket_path,
        agent.host,
        agent.health_port,
    )
    asyncio.run(_serve_calls(server, sockets, settings))
    return 0


async def _serve_calls(server: Any, sockets: list[socket.socket], settings: Settings) -> None:
    """The WebSocket/health app, the AudioSocket listener and the SIP server, in one event
    loop; they share the app's state (calls in progress, draining)."""
    from pipeline.telephony.audiosocket_server import start_audiosocket
    from pipeline.telephony.sip.agent_calls import start_sip

    audiosocket = await start_audiosocket(settings, server.state)
    sip = await start_sip(settings, server.state) if settings.agent.sip_port else None
    try:
        await server.serve(sockets=sockets)
    finally:
        if audiosocket is not None:
            audiosocket.close()
        if sip is not None:
            await sip.close()
