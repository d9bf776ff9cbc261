"""The figures of one `bench calls` level, from its call records and agent readings.

In: the CallRecords of the calls placed (scripted_call.py), the frame-lag
buckets read before and after, the agent's memory samples and, when known, its transcripts.
Out: the JSON fields of one level: calls, completed, failed, false_interruptions,
missed_turns, response_latency_ms {p50, p99} and the same over the turns the agent did not
cut in on (response_latency_uncut_ms: a policy that cuts callers off must not look
faster), frame_lag_ms {p50, p99}, rss_mb of the tree,
a soak's memory growth, the same per process (`processes`: agent, speech-server, ...),
the agent process's own CPU per call in progress (agent_cpu_pct_per_call, calls_per_core:
agent_cpu.py), lost_transcripts, premature_turn_ends, agent_stages (the median of each
latency stage of the agent's answers, as the agent measured them: agent_stages.py), and
every call (its judged turns and when the agent talked).
"""

from pipeline.bench.calls.agent_cpu import CpuSample, agent_cpu, call_spans
from pipeline.bench.calls.agent_probe import Buckets, quantile_ms, tree_rss
from pipeline.bench.calls.agent_transcripts import TurnEnds, lost_transcripts, premature_turn_ends
from pipeline.bench.calls.scripted_call import CallRecord
from pipeline.bench.report import percentile_ms


def _rounded(value: float | None) -> float | None:
    return None if value is None or value != value else round(value, 1)


def memory(rss_samples: list[float], growth: bool) -> dict:
    """Peak memory and, when `growth` (a soak), growth from the first sample to the last."""
    if not rss_samples:
        return {"rss_mb": None, "rss_start_mb": None, "rss_end_mb": None, "rss_growth_pct": None}
    start, end = rss_samples[0], rss_samples[-1]
    return {
        "rss_mb": round(max(rss_samples), 1),
        "rss_start_mb": round(start, 1),
        "rss_end_mb": round(end, 1),
        "rss_growth_pct": round((end - start) / start * 100, 2) if growth and start else None,
    }


def process_memory(samples: list[dict[str, float]], growth: bool) -> dict[str, dict]:
    """Per role (agent, speech-server, ...): peak_mb, start_mb, end_mb and growth_pct as
    `memory` gives them for the tree, over the samples in which that role was present."""
    per_role = {}
    for role in dict.fromkeys(role for sample in samples for role in sample):
        figures = memory([s[role] for s in samples if role in s], growth)
        per_role[role] = {
            "peak_mb": figures["rss_mb"],
            "start_mb": figures["rss_start_mb"],
            "end_mb": figures["rss_end_mb"],
            "growth_pct": figures["rss_growth_pct"],
        }
    return per_role


def summarize(
    concurrent: int,
    records: list[CallRecord],
    lag_before: Buckets | None,
    lag_after: Buckets | None,
    rss_samples: list[dict[str, float]],
    duration_s: float,
    soak: bool = False,
    turn_ends: TurnEnds | None = None,
    cpu_samples: list[CpuSample] | None = None,
    stages: dict | None = None,
) -> dict:
    turns = [t for r in records if not r.failed for t in r.turns]
    latencies = [t["latency_ms"] / 1000 for t in turns if t["latency_ms"] is not None]
    uncut = [
        t["latency_ms"] / 1000
        for t in turns
        if t["latency_ms"] is not None and not t["false_interruption"]
    ]
    lag = lag_before is not None and lag_after is not None
    sent_late = [s for r in records for s in r.send_lag_s]
    return {
        "concurrent": concurrent,
        "calls": len(records),
        "completed": sum(not r.failed for r in records),
        "failed": sum(r.failed for r in records),
        "turns": len(turns),
        "false_interruptions": sum(t["false_interruption"] for t in turns),
        "missed_turns": sum(t["missed"] for t in turns),
        "response_latency_ms": {
            "p50": _rounded(percentile_ms(latencies, 50)),
            "p99": _rounded(percentile_ms(latencies, 99)),
        },
        "response_latency_uncut_ms": {
            "p50": _rounded(percentile_ms(uncut, 50)),
            "p99": _rounded(percentile_ms(uncut, 99)),
        },
        "frame_lag_ms": {
            "p50": _rounded(quantile_ms(lag_before, lag_after, 0.50)) if lag else None,
            "p99": _rounded(quantile_ms(lag_before, lag_after, 0.99)) if lag else None,
        },
        # The callers' own lateness in sending audio: frame lag includes it (same machine).
        "caller_send_lag_ms": {"p99": _rounded(percentile_ms(sent_late, 99))},
        **memory([tree_rss(sample) for sample in rss_samples], soak),
        "processes": process_memory(rss_samples, soak),
        **agent_cpu(cpu_samples or [], call_spans(records)),
        "lost_transcripts": lost_transcripts(records, turn_ends),
        "premature_turn_ends": premature_turn_ends(records, turn_ends),
        "agent_stages": stages,
        "duration_s": round(duration_s, 1),
        "per_call": [r.as_dict() for r in records],
    }
