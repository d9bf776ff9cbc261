"""What the agent recorded of the demo call, joined to what the caller heard.

In: the demo call's turns (pipeline/demo/conversation.py: each answer with the wall-clock time
its first audio reached the caller) and the agent's transcripts file (its turn events,
pipeline/agent/turn_events.py). Out: each answer's latency stages (the turn_latency event
whose first audio is nearest the caller's, pipeline/agent/turn_stages.py), the call's turn
asks, and its CallTimeline for the picture.
"""

from dataclasses import asdict
from pathlib import Path

from pipeline.demo.conversation import Turn
from pipeline.timeline.events import CallTimeline, call_ids, call_timeline, read_lines

MATCH_WITHIN_S = 2.0  # the agent's first audio and the caller hearing it: one network hop


def last_call(path: Path) -> CallTimeline | None:
    """The timeline of the last call in the file (the demo's only call); None: no file/call."""
    if not path.exists():
        return None
    lines = read_lines(path)
    ids = call_ids(lines)
    return call_timeline(lines, ids[-1]) if ids else None


def add_stages(turns: list[Turn], timeline: CallTimeline) -> None:
    """Give each answer the stages of the agent's latency event nearest its first audio."""
    for turn in turns:
        if turn.heard_at is None or turn.latency_ms is None:
            continue
        heard = turn.heard_at - timeline.start
        nearest = min(timeline.latencies, key=lambda lat: abs(lat[0] - heard), default=None)
        if nearest and abs(nearest[0] - heard) <= MATCH_WITHIN_S:
            turn.stages_ms = nearest[1]


def turn_asks(timeline: CallTimeline) -> list[dict]:
    """The call's turn asks, seconds from the call's start."""
    return [asdict(ask) for ask in timeline.asks]
