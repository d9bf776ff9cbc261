"""A step's record, the run's progress lines and its time budget.

In: a step name and a function that fills the step's dict (numbers, and "status": "pass" or
"fail"; it may raise). Out: the dict with status ("pass", "fail", "error" when the function
raised, with the error and its traceback, or "skipped" with a reason) and its seconds.
Every step is recorded, whatever happened to the steps before it.
"""

import time
import traceback
from collections.abc import Callable
from typing import Any

Step = dict[str, Any]


class Skip(Exception):  # noqa: N818 - a step's way to say it did not run, with the reason
    """Raised by a step that cannot or should not run here; the message is the reason."""


class Budget:
    """The run's clock: seconds since the start, and seconds left before the deadline."""

    def __init__(self, seconds: float) -> None:
        self.start = time.monotonic()
        self.deadline = self.start + seconds

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def until(self, seconds: float) -> float:
        """A monotonic time `seconds` from now, never past the deadline."""
        return min(time.monotonic() + seconds, self.deadline)


_budget: Budget | None = None


def start_clock(budget: Budget) -> None:
    global _budget
    _budget = budget


def progress(step: str, message: str) -> None:
    """One progress line, flushed at once (the device's log shows how far a run got)."""
    elapsed = _budget.elapsed() if _budget else 0.0
    print(f"[gpu-check {elapsed:6.1f}s] {step}: {message}", flush=True)


def run_step(name: str, body: Callable[[Step], None]) -> Step:
    """Run `body(record)` and return the record with its status and seconds."""
    record: Step = {}
    started = time.monotonic()
    progress(name, "start")
    try:
        body(record)
        record.setdefault("status", "pass")
    except Skip as reason:
        record["status"] = "skipped"
        record["reason"] = str(reason)
    except Exception as exc:  # noqa: BLE001 - recorded; the next step still runs
        record["status"] = "error"
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc()
    record["seconds"] = round(time.monotonic() - started, 3)
    detail = record.get("error") or record.get("reason") or ""
    progress(name, f"{record['status']} in {record['seconds']:.1f}s {detail}".rstrip())
    return record


def check(record: Step, name: str, value: float, tolerance: float) -> bool:
    """Record `value` against `tolerance` under `name`; a failed (or NaN) check fails the step."""
    ok = bool(value <= tolerance)  # NaN compares False
    record.setdefault("checks", []).append(
        {"check": name, "value": float(value), "tolerance": tolerance, "pass": ok}
    )
    if not ok:
        record["status"] = "fail"
    return ok
