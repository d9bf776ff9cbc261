"""`switchboard demo`: place one simulated phone call to the agent, all on CPU.

    switchboard demo                    # the scripted call; prints the conversation
    switchboard demo --json call.json   # also writes {"turns": [...], "agent_hung_up": true,
                                        #   "calls_failed": N}
    switchboard demo --timeline call.png  # also draws the call's timeline (speech, turn
                                        #   asks, each answer's latency stages)
    switchboard demo --interactive      # talk to the agent yourself at http://localhost:7860

It starts `switchboard serve --cpu` (speech server, LLM server and the in-process turn
engine), waits until it is ready, calls it over its WebSocket media stream with piper
caller speech, transcribes the agent's answers with the speech server, and stops everything.
Each answer is printed with its latency and where it went (the agent's turn events, written
to agent.transcripts_file, by default transcripts.jsonl in the log directory; --json carries
them as turns[].stages_ms and turn_asks).
Exit code 0 when the call completed and the agent hung up after the caller's goodbye.
"""

import argparse
import json
import sys
import tempfile
import urllib.request
from pathlib import Path

from pipeline.settings import Settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="one simulated phone call to the agent in CPU mode (or --interactive, in a browser)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", type=Path, help="write the conversation as JSON here")
    parser.add_argument("--timeline", type=Path, help="draw the call's timeline to this PNG")
    parser.add_argument(
        "--interactive", action="store_true", help="serve the browser client instead"
    )
    parser.add_argument("--port", type=int, default=7860, help="--interactive: the page's port")
    parser.add_argument("--log-dir", type=Path, help="where the agent's logs go")
    parser.set_defaults(func=run)


def _ready(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return None if response.status == 200 else f"HTTP {response.status}"
    except OSError:
        return "loading models (speech, LLM, turn)"


def run(args: argparse.Namespace, settings: Settings) -> int:
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="switchboard-demo-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    if args.interactive:
        from pipeline.demo.browser import serve_browser

        return serve_browser(settings, args.port, log_dir)
    from pipeline.serve.supervisor import Child, ChildFailed, Supervisor

    agent = settings.agent
    events = agent.transcripts_file or log_dir / "transcripts.jsonl"
    health = f"http://127.0.0.1:{agent.health_port}/readyz"
    child = Child(
        name="agent (serve --cpu)",
        args=["serve", "--cpu", "--log-dir", str(log_dir)],
        healthy=lambda: _ready(health),
        hint="switchboard serve --cpu",
        log_path=log_dir / "agent.log",
        # The demo calls over the WebSocket: no Prometheus or AudioSocket port to collide on.
        env={
            "SWITCHBOARD_AGENT__METRICS_PORT": "0",
            "SWITCHBOARD_AGENT__AUDIOSOCKET_PORT": "0",
            "SWITCHBOARD_AGENT__TRANSCRIPTS_FILE": str(events),
        },
    )
    supervisor = Supervisor([child], restart=False)
    try:
        supervisor.start(agent.start_timeout_s + 30)
        return _call(settings, args, log_dir, events)
    except ChildFailed as exc:
        print(f"switchboard demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        supervisor.stop()


def _call(settings: Settings, args: argparse.Namespace, log_dir: Path, events: Path) -> int:
    import asyncio

    from rich.console import Console

    from pipeline.agent.turn_stages import describe
    from pipeline.demo.call_events import add_stages, last_call, turn_asks
    from pipeline.demo.conversation import place_call

    console = Console()
    agent, speech = settings.agent, settings.speech_server
    url = f"ws://127.0.0.1:{agent.websocket_port}{agent.websocket_path}"
    failed, turns, hung_up = 0, [], False
    try:
        call = asyncio.run(place_call(url, f"127.0.0.1:{speech.port}"))
        turns, hung_up = call.turns, call.agent_hung_up
    except Exception as exc:  # the call failed; say why and where the logs are
        failed = 1
        console.print(f"[red]call failed: {exc}[/red] (logs in {log_dir})")
    timeline = last_call(events)
    if timeline:
        add_stages(turns, timeline)
    for turn in turns:
        latency = f" [dim]({turn.latency_ms:.0f} ms)[/dim]" if turn.latency_ms else ""
        style = "cyan" if turn.role == "caller" else "green"
        console.print(f"[{style}]{turn.role:>6}[/{style}]: {turn.text}{latency}")
        if turn.stages_ms:
            console.print(f"        [dim]agent side {describe(turn.stages_ms)}[/dim]")
    if hung_up:
        console.print("[green] agent[/green]: [dim](hung up)[/dim]")
    elif not failed:
        failed = 1
        console.print(f"[red]the agent did not hang up after the goodbye[/red] (logs in {log_dir})")
    result = {"turns": [t.as_dict() for t in turns], "agent_hung_up": hung_up}
    result |= {"calls_failed": failed, "turn_asks": turn_asks(timeline) if timeline else []}
    if args.timeline and timeline:
        from pipeline.timeline.draw import draw_timeline

        result["timeline"] = draw_timeline(timeline, args.timeline, "switchboard demo")
        console.print(f"timeline: {args.timeline} ({result['timeline']})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if failed else 0
