"""The agent process's own CPU per call in progress, over the steady part of a level.

In: samples of the agent process's CPU time (epoch seconds, user + system seconds of that
process alone: not its speech or LLM children) taken through the level, and each call's span
(caller slot, dialled, ended: epoch seconds). Out: agent_cpu_pct_per_call, the CPU seconds
over the window divided by the call-seconds in progress over the same window, in percent of
one core; calls_per_core (100 / that); and the window's length.

The window leaves out startup and warm-up: it opens WARMUP_S after the last caller placed its
first call (every call's pipeline built, greetings under way) and closes when the first
caller is done (its last call ended: the load starts to fall). The first and last CPU samples
inside it bound it; a window shorter than MIN_WINDOW_S gives no figure.
"""

import psutil

from pipeline.bench.calls.scripted_call import CallRecord

WARMUP_S = 5.0
MIN_WINDOW_S = 2.0

CpuSample = tuple[float, float]  # epoch seconds, CPU seconds used so far
CallSpan = tuple[int, float, float]  # caller slot, dialled, ended (epoch seconds)


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of the process `pid` itself (from /proc), children left out."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def call_spans(records: list[CallRecord]) -> list[CallSpan]:
    """When each call was in progress, failed ones too (until they failed)."""
    return [(r.call, r.dialled_at, r.dialled_at + r.duration_s) for r in records]


def steady_window(spans: list[CallSpan], warmup_s: float = WARMUP_S) -> tuple[float, float]:
    """(opens, closes) in epoch seconds: see the module's docstring."""
    first_dial: dict[int, float] = {}
    last_end: dict[int, float] = {}
    for slot, dialled, ended in spans:
        first_dial[slot] = min(dialled, first_dial.get(slot, dialled))
        last_end[slot] = max(ended, last_end.get(slot, ended))
    return max(first_dial.values()) + warmup_s, min(last_end.values())


def call_seconds(spans: list[CallSpan], start: float, end: float) -> float:
    """Seconds of calls in progress between start and end, summed over the calls."""
    return sum(max(0.0, min(ended, end) - max(dialled, start)) for _, dialled, ended in spans)


def agent_cpu(samples: list[CpuSample], spans: list[CallSpan], warmup_s: float = WARMUP_S) -> dict:
    """agent_cpu_pct_per_call, calls_per_core and agent_cpu_window_s; None when unknown."""
    unknown = {"agent_cpu_pct_per_call": None, "calls_per_core": None, "agent_cpu_window_s": None}
    if not spans:
        return unknown
    opens, closes = steady_window(spans, warmup_s)
    inside = [sample for sample in samples if opens <= sample[0] <= closes]
    if len(inside) < 2 or inside[-1][0] - inside[0][0] < MIN_WINDOW_S:
        return unknown
    (start, cpu_start), (end, cpu_end) = inside[0], inside[-1]
    in_progress = call_seconds(spans, start, end)
    if in_progress <= 0:
        return unknown
    pct = 100 * (cpu_end - cpu_start) / in_progress
    return {
        "agent_cpu_pct_per_call": round(pct, 2),
        "calls_per_core": round(100 / pct, 1) if pct > 0 else None,
        "agent_cpu_window_s": round(end - start, 1),
    }
