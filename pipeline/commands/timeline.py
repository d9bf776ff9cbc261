"""`switchboard timeline`: draw one call's timeline from the agent's transcripts file.

    switchboard timeline transcripts.jsonl --call MZ123 -o call.png
    switchboard timeline transcripts.jsonl              # lists the calls in the file

In: the file agent.transcripts_file names (any carrier's calls: SIP, AudioSocket, WebSocket,
WebRTC). Out: the PNG (pipeline/timeline/draw.py says how to read it) and one line with what
it shows; exit code 1 when there is no such file or call.
"""

import argparse
import sys
from pathlib import Path

from pipeline.settings import Settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "timeline",
        help="draw a call's turn timeline (speech, turn asks, latency) from a transcripts file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("events", type=Path, help="the agent's transcripts file (JSON lines)")
    parser.add_argument("--call", help="the call id (default: list the calls)")
    parser.add_argument("-o", "--output", type=Path, help="the PNG to write")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, _settings: Settings) -> int:
    from pipeline.timeline.draw import draw_timeline
    from pipeline.timeline.events import call_ids, call_timeline, read_lines

    if not args.events.is_file():
        print(f"switchboard timeline: no file {args.events}", file=sys.stderr)
        return 1
    lines = read_lines(args.events)
    if not args.call:
        print("\n".join(call_ids(lines)) or f"no calls in {args.events}")
        return 0
    try:
        timeline = call_timeline(lines, args.call)
    except KeyError:
        print(f"switchboard timeline: no call {args.call} in {args.events}", file=sys.stderr)
        return 1
    output = args.output or Path(f"{args.call}.png")
    counts = draw_timeline(timeline, output)
    print(f"{output}: " + ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items()))
    return 0
