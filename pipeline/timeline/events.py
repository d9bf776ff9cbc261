"""One call's turn events, read back from the agent's transcripts file.

In: the JSON lines pipeline/agent/transcripts.py writes (agent.transcripts_file): word lines
(with "role") and turn events (with "kind", pipeline/agent/turn_events.py) of any number of
calls. Out: a `CallTimeline` per call, times in seconds from the call's first line: caller
speech spans (VAD start to stop), turn asks, turn ends, agent speech spans, each answer's
latency stages, and the words. `counts` is what a picture of it shows, the numbers a test
holds against what the caller side saw (word lines are not counted: a tool call makes an
agent line with no words).
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Ask:
    at_s: float
    probability: float | None
    verdict: str  # complete | incomplete | fallback
    reason: str | None
    hold_ms: float


@dataclass
class CallTimeline:
    call_id: str
    start: float = 0.0  # epoch seconds of the call's first line
    caller_speech: list[tuple[float, float]] = field(default_factory=list)
    barge_ins: list[float] = field(default_factory=list)
    asks: list[Ask] = field(default_factory=list)
    turn_ends: list[float] = field(default_factory=list)
    agent_speech: list[tuple[float, float, bool]] = field(default_factory=list)  # interrupted
    latencies: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    words: list[tuple[str, float, str]] = field(default_factory=list)  # role, ended at, text

    def counts(self) -> dict[str, int]:
        """What a picture of it shows: caller turns (turn ends), turn asks, agent turns (the
        agent's speech), answers timed (latency breakdowns)."""
        return {
            "caller_turns": len(self.turn_ends),
            "turn_asks": len(self.asks),
            "agent_turns": len(self.agent_speech),
            "answers_timed": len(self.latencies),
        }

    @property
    def end_s(self) -> float:
        ends = [e for _, e in self.caller_speech] + [e for _, e, _ in self.agent_speech]
        return max([*ends, *(t for _, t, _ in self.words), 0.0])


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def read_lines(path: Path) -> list[dict]:
    """Every JSON line of the file (blank lines skipped)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def call_ids(lines: list[dict]) -> list[str]:
    """The calls in the file, in the order they first appear."""
    return list(dict.fromkeys(line["call_id"] for line in lines))


def call_timeline(lines: list[dict], call_id: str) -> CallTimeline:
    """The timeline of `call_id`; KeyError when the file has no line of it."""
    mine = [line for line in lines if line.get("call_id") == call_id]
    if not mine:
        raise KeyError(call_id)
    start = min(_epoch(line.get("at") or line["started_at"]) for line in mine)
    timeline = CallTimeline(call_id, start)
    opened: dict[str, float] = {}
    for line in mine:
        if "role" in line:
            ended = _epoch(line["ended_at"]) - start
            timeline.words.append((line["role"], ended, line.get("text", "")))
            continue
        _add_event(timeline, opened, line["kind"], _epoch(line["at"]) - start, line)
    last = max(_epoch(line.get("at") or line["ended_at"]) for line in mine) - start
    if "caller" in opened:  # speech still going when the call ended: up to its last line
        timeline.caller_speech.append((opened.pop("caller"), last))
    if "agent" in opened:
        timeline.agent_speech.append((opened.pop("agent"), last, False))
    return timeline


def _add_event(
    timeline: CallTimeline, opened: dict[str, float], kind: str, at: float, line: dict
) -> None:
    if kind == "caller_started":
        opened["caller"] = at
        if line.get("barge_in"):
            timeline.barge_ins.append(at)
    elif kind == "caller_stopped" and "caller" in opened:
        timeline.caller_speech.append((opened.pop("caller"), at))
    elif kind == "agent_started":
        opened["agent"] = at
    elif kind == "agent_stopped" and "agent" in opened:
        timeline.agent_speech.append((opened.pop("agent"), at, bool(line.get("interrupted"))))
    elif kind == "turn_ask":
        ask = Ask(at, line.get("probability"), line["verdict"], line.get("reason"), line["hold_ms"])
        timeline.asks.append(ask)
    elif kind == "turn_end":
        timeline.turn_ends.append(at)
    elif kind == "turn_latency":
        timeline.latencies.append((at, line["stages_ms"]))
