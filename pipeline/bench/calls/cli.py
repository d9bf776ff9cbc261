"""`switchboard bench calls`: simulated callers, all at once, against a live agent.

    switchboard bench calls --calls 2                       # starts serve --cpu, 2 callers
    switchboard bench calls --calls 1,2,4 --plot calls.png  # a load curve, one level each
    switchboard bench calls --calls 4 --duration 1800       # soak: calls back to back
    switchboard bench calls --url ws://agent:8765/ws --metrics http://agent:9090/metrics
    switchboard bench calls --transport sip --calls 2       # callers dial SIP, talk RTP
    switchboard bench calls --url sip:127.0.0.1:5060        # SIP callers, a running agent
    switchboard bench calls --transport sip --calls 20 --turn vad --stand-ins scripted

Each caller follows a scenario (--scenario: a shipped name or a YAML file) over a real
transport (--transport): the agent's Twilio-format WebSocket media stream (ws, the default),
or a SIP call with G.711 RTP from 127.0.0.1 (sip). Without --url the command starts
`switchboard serve --cpu` itself with agent.turn_mode from --turn, on free ports (a SIP port
too for sip), room for the largest level (agent.max_calls, the speech pools), and stops it
afterwards; a --url's scheme (ws:// or sip:) gives the transport. --stand-ins scripted
starts it on the scripted speech and LLM stand-ins (the ASR answers with the scenario's own
fragments, the LLM with a canned text), which cost next to nothing: the load then measures
the agent process alone.
Prints a table and writes JSON (--json): at the top level the transport and the figures of
the largest level (calls, completed, failed, false_interruptions, missed_turns,
response_latency_ms {p50, p99}, the same over the turns not cut in on
(response_latency_uncut_ms), frame_lag_ms {p50, p99}, rss_mb of the agent's process tree,
agent_cpu_pct_per_call and calls_per_core (the agent process's own CPU seconds over the
steady part of the level, startup and warm-up left out, per call-second in progress, in %
of one core), lost_transcripts, agent_stages (each latency stage's median over the agent's
answers, from its transcripts, for an agent it started), per_call),
and under `runs` every level. Exit code 1 when a call failed.
"""

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.settings import Settings

if TYPE_CHECKING:
    from pipeline.bench.calls.agent_under_test import AgentUnderTest
    from pipeline.bench.calls.scenario import Scenario

TURN_MODES = ("smart", "stock", "vad")
DEFAULT_SCENARIO = "hesitant-cancel"
STAND_INS = ("models", "scripted")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "calls",
        help="simulated callers against a live agent: turn-taking, latency, frame lag, memory",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--calls", default="1", help="concurrent calls, or a list: 1,2,4")
    parser.add_argument("--duration", type=float, help="soak: keep placing calls for S seconds")
    parser.add_argument(
        "--scenario", default=DEFAULT_SCENARIO, help="shipped scenario name or a YAML file"
    )
    parser.add_argument("--turn", choices=TURN_MODES, default="smart", help="agent.turn_mode")
    parser.add_argument(
        "--transport", choices=("ws", "sip"), help="how callers reach the agent (default ws)"
    )
    parser.add_argument(
        "--url", help="ws://HOST:PORT/PATH or sip:HOST:PORT of a running agent (default: start one)"
    )
    parser.add_argument("--metrics", help="with --url: the agent's /metrics URL, for frame lag")
    parser.add_argument(
        "--stand-ins",
        choices=STAND_INS,
        default="models",
        help="the started agent's speech and LLM servers: the CPU models, or scripted stand-ins",
    )
    parser.add_argument("--log-dir", type=Path, help="where a started agent's logs go")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--plot", help="PNG of latency and false interruptions against calls")
    parser.add_argument(
        "--timeline", type=Path, help="a started agent: draw each call's timeline in this folder"
    )
    parser.set_defaults(func=run)


def _levels(text: str) -> list[int]:
    try:
        levels = [int(n) for n in text.split(",") if n.strip()]
    except ValueError:
        levels = []
    if not levels or min(levels) < 1:
        raise ValueError(f"--calls takes positive numbers, e.g. 4 or 1,2,4; got {text!r}")
    return levels


def _transport(chosen: str | None, url: str | None) -> str:
    """--transport, or the one --url's scheme names; ValueError when they disagree."""
    implied = None if url is None else ("sip" if url.startswith("sip:") else "ws")
    if chosen and implied and chosen != implied:
        raise ValueError(f"--transport {chosen} does not match --url {url}")
    return chosen or implied or "ws"


def run(args: argparse.Namespace, settings: Settings) -> int:
    import sys

    from pipeline.bench.calls.agent_under_test import running_agent
    from pipeline.bench.calls.scenario import ScenarioError, load_scenario, scenario_path

    try:
        levels = _levels(args.calls)
        scenario = load_scenario(scenario_path(args.scenario))
        if args.duration is not None and args.duration <= 0:
            raise ValueError("--duration must be positive")
        if args.metrics and not args.url:
            raise ValueError("--metrics goes with --url (a started agent is measured anyway)")
        if args.stand_ins != "models" and args.url:
            raise ValueError("--stand-ins is for the agent the benchmark starts, not --url")
        existing = running_agent(args.url, args.metrics) if args.url else None
        args.transport = _transport(args.transport, args.url)
    except (ValueError, ScenarioError) as exc:
        print(f"switchboard bench calls: {exc}", file=sys.stderr)
        return 2
    return _bench(args, settings, scenario, levels, existing)


def _bench(
    args: argparse.Namespace,
    settings: Settings,
    scenario: "Scenario",
    levels: list[int],
    existing: "AgentUnderTest | None",
) -> int:
    import asyncio
    import contextlib
    import os

    from rich.console import Console

    from pipeline.bench.calls.agent_under_test import started_agent
    from pipeline.bench.calls.load import run_level
    from pipeline.bench.calls.scripted_call import render_scenario
    from pipeline.bench.calls.table import print_levels
    from pipeline.bench.report import machine, write_json
    from pipeline.serve.supervisor import ChildFailed

    console = Console()
    with console.status(f"rendering scenario {scenario.name} with piper..."):
        render_scenario(scenario)
    if existing:
        agent_cm = contextlib.nullcontext(existing)
    else:
        script = scenario.fragments() if args.stand_ins == "scripted" else None
        agent_cm = started_agent(
            settings, args.turn, args.log_dir, args.transport, script, capacity=max(levels)
        )
    load_before, runs, events = os.getloadavg(), [], None
    try:
        with agent_cm as agent:
            events = agent.transcripts
            for calls in levels:
                doing = f"{calls} calls of {scenario.name}"
                if args.duration:
                    doing += f", back to back for {args.duration:.0f} s"
                with console.status(f"{doing}..."):
                    runs.append(asyncio.run(run_level(agent, scenario, calls, args.duration)))
    except ChildFailed as exc:
        console.print(f"[red]switchboard bench calls: {exc}[/red]")
        return 1
    turn = args.turn if not args.url else "as served"
    title = f"bench calls: {scenario.name}, turn {turn}, over {args.transport}"
    if args.stand_ins != "models":
        title += f", {args.stand_ins} stand-ins"
    print_levels(title, runs)
    headline = max(runs, key=lambda r: r["concurrent"])
    result = {
        "scenario": scenario.name,
        "transport": args.transport,
        "turn_mode": args.turn if not args.url else None,
        "agent": args.url or "serve --cpu (started by the benchmark)",
        "stand_ins": None if args.url else args.stand_ins,
        "soak_duration_s": args.duration,
        "machine": machine(),
        "load_average": {"before": load_before, "after": os.getloadavg()},  # a shared machine
        **headline,
        "runs": runs,
    }
    write_json(args.json, result)
    if args.plot:
        from pipeline.bench.plot import plot_calls

        plot_calls(runs, args.plot)
    if args.timeline and events:
        from pipeline.timeline.draw import draw_calls

        console.print(f"timelines: {len(draw_calls(events, args.timeline))} in {args.timeline}")
    return 1 if any(r["failed"] for r in runs) else 0
