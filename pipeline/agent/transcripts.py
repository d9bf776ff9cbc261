"""Per-call transcripts as JSON lines (setting agent.transcripts_file; off when unset).

In: each finished caller and agent turn of a call (from Pipecat's aggregator events; its
text already masked unless agent.transcripts_raw: pipeline/agent/call.py). Out:
one JSON object per turn appended to the file, written whole in one write so concurrent
calls never interleave inside a line:

    {"call_id": "MZ..", "role": "caller"|"agent", "text": "...", "interrupted": false,
     "started_at": "<ISO time the turn began>", "ended_at": "<ISO time it ended>"}

A file that cannot be written is logged once and the call goes on.
"""

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


class TranscriptWriter:
    """Appends one call's turns to `path` (does nothing when `path` is None)."""

    def __init__(self, path: Path | None, call_id: str) -> None:
        self.path = path
        self.call_id = call_id
        self._failed = False

    def turn(self, role: str, text: str, started_at: str, interrupted: bool = False) -> None:
        if self.path is None or self._failed:
            return
        line = {
            "call_id": self.call_id,
            "role": role,
            "text": text,
            "interrupted": interrupted,
            "started_at": started_at,
            "ended_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        try:
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")
        except OSError as exc:
            self._failed = True
            log.error("call %s: cannot write transcripts to %s: %s", self.call_id, self.path, exc)
