"""Per-call transcripts as JSON lines (setting agent.transcripts_file; off when unset).

In: each finished caller and agent turn of a call (from Pipecat's aggregator events; its
text already masked unless agent.transcripts_raw: pipeline/agent/call.py), and the call's
turn events (pipeline/agent/turn_events.py). Out: one JSON object per line appended to the
file, written whole in one write so concurrent calls never interleave inside a line. A turn's
words (the only lines with a "role"; tools count caller and agent lines by it):

    {"call_id": "MZ..", "role": "caller"|"agent", "text": "...", "interrupted": false,
     "started_at": "<ISO time the turn began>", "ended_at": "<ISO time it ended>"}

A turn event (no "role", no words, so nothing in it to redact):

    {"call_id": "MZ..", "kind": "turn_ask"|"turn_end"|..., "at": "<ISO time>", ...}

A file that cannot be written is logged once and the call goes on.
"""

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


def iso(epoch_s: float | None = None) -> str:
    """An epoch time (now when None) as the file's ISO form, to the millisecond."""
    at = datetime.now(UTC) if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC)
    return at.isoformat(timespec="milliseconds")


class TranscriptWriter:
    """Appends one call's turns and turn events to `path` (does nothing when `path` is None)."""

    def __init__(self, path: Path | None, call_id: str) -> None:
        self.path = path
        self.call_id = call_id
        self._failed = False

    def turn(self, role: str, text: str, started_at: str, interrupted: bool = False) -> None:
        """A finished turn's words."""
        self._write(
            {
                "call_id": self.call_id,
                "role": role,
                "text": text,
                "interrupted": interrupted,
                "started_at": started_at,
                "ended_at": iso(),
            }
        )

    def event(self, kind: str, at: float, fields: dict) -> None:
        """A turn event of `kind` at epoch time `at`, with its own fields."""
        self._write({"call_id": self.call_id, "kind": kind, "at": iso(at), **fields})

    def _write(self, line: dict) -> None:
        if self.path is None or self._failed:
            return
        try:
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")
        except OSError as exc:
            self._failed = True
            log.error("call %s: cannot write transcripts to %s: %s", self.call_id, self.path, exc)
