"""Where the agent's answers spent their time, as the agent itself measured it.

In: the agent's transcripts file (its turn_latency events: each answer's stages from the
caller's last word to the agent's first audio, pipeline/agent/turn_stages.py) and the call
ids of one level. Out: the median of every stage over those calls' answers, and how many
answers there were; None when the transcripts are unknown (an agent the bench did not
start).
"""

import json
import statistics
from pathlib import Path

from pipeline.agent.turn_stages import STAGES, TOTALS


def stage_medians(transcripts: Path | None, call_ids: set[str]) -> dict | None:
    """{"answers": n, "p50_ms": {stage: ms}} over the answers of `call_ids`."""
    if transcripts is None:
        return None
    answers = []
    if transcripts.exists():
        for line in transcripts.read_text().splitlines():
            entry = json.loads(line) if line.strip() else {}
            if entry.get("kind") == "turn_latency" and entry.get("call_id") in call_ids:
                answers.append(entry["stages_ms"])
    p50 = {
        name: round(statistics.median(a.get(name, 0.0) for a in answers)) if answers else None
        for name in (*STAGES, *TOTALS)
    }
    return {"answers": len(answers), "p50_ms": p50}
