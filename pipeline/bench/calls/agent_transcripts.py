"""What the agent wrote down of each call, checked against what the callers said.

In: the agent's transcripts file (agent.transcripts_file, JSON lines with call_id, role and
ended_at) and the CallRecords of the calls (each turn's first and last word, in seconds from
dialling, and the wall-clock time of dialling). Out: per call, when the agent ended each
caller turn; how many answered caller turns it never transcribed (lost transcripts); and in
how many caller utterances it ended the turn before the last word (premature turn ends: the
turn decision itself, whether or not the agent's slower answer got out inside the pause).
"""

import json
from datetime import datetime
from pathlib import Path

from pipeline.bench.calls.scripted_call import CallRecord

TurnEnds = dict[str, list[float]]  # call id -> epoch seconds the agent ended a caller turn


def caller_turn_ends(transcripts: Path | None) -> TurnEnds | None:
    """When the agent ended each caller turn it transcribed, per call; None when unknown."""
    if transcripts is None:
        return None
    ends: TurnEnds = {}
    if not transcripts.exists():
        return ends
    for line in transcripts.read_text().splitlines():
        entry = json.loads(line) if line.strip() else {}
        if entry.get("role") == "caller":
            ended = datetime.fromisoformat(entry["ended_at"]).timestamp()
            ends.setdefault(entry["call_id"], []).append(ended)
    return ends


def lost_transcripts(records: list[CallRecord], ends: TurnEnds | None) -> int | None:
    """Answered caller turns beyond the caller lines the agent wrote, summed over completed
    calls (a turn the agent split writes more lines, never fewer)."""
    if ends is None:
        return None
    answered = {r.call_id: sum(not t["missed"] for t in r.turns) for r in records if not r.failed}
    return sum(max(0, n - len(ends.get(call_id, []))) for call_id, n in answered.items())


def premature_turn_ends(records: list[CallRecord], ends: TurnEnds | None) -> int | None:
    """Caller utterances in which the agent ended the turn after the first word and before
    the last one, summed over completed calls."""
    if ends is None:
        return None
    count = 0
    for record in (r for r in records if not r.failed):
        since_dial = [end - record.dialled_at for end in ends.get(record.call_id, [])]
        count += sum(
            any(turn["first_word_s"] < end < turn["last_word_s"] for end in since_dial)
            for turn in record.turns
        )
    return count
