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
import sys
import tempfile
from pathlib import Path

from pipeline.settings import Settings


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


def run(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.serve.agent_process import run_agent_process
    from pipeline.serve.agent_server import check_then_serve, serve_calls

    if args.sip_port is not None:
        if not 1 <= args.sip_port <= 65535:
            print(f"switchboard serve: --sip-port {args.sip_port} is not a port", file=sys.stderr)
            return 2
        agent = settings.agent.model_copy(update={"sip_port": args.sip_port})
        settings = settings.model_copy(update={"agent": agent})
    log_dir = None
    if args.cpu:
        log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="switchboard-serve-"))
        log_dir.mkdir(parents=True, exist_ok=True)
    return run_agent_process(
        "serve", settings, serve_calls if args.cpu else check_then_serve, log_dir
    )
