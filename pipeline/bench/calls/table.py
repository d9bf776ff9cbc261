"""The table `bench calls` prints: one row per figure, one column per level of calls.

In: the level summaries (summary.py). Out: a rich table on the terminal
(pipeline/bench/report.py) that stays narrow: a few levels fit 80 columns. Under the tree's
memory, a row per process of the agent's tree: its peak RSS and, in a soak, its growth.
The agent process's own CPU per call in progress, and the calls one core would carry at it.
The agent's own view of its answers' latency: the median time from the caller's last word
to its first audio, and its own share of that (less the ASR, LLM and TTS time).
"""

from pipeline.bench.report import print_table

FIGURES = (
    ("calls placed", lambda r: r["calls"]),
    ("completed", lambda r: r["completed"]),
    ("failed", lambda r: r["failed"]),
    ("caller turns", lambda r: r["turns"]),
    ("false interruptions", lambda r: r["false_interruptions"]),
    ("missed turns", lambda r: r["missed_turns"]),
    ("premature turn ends", lambda r: r["premature_turn_ends"]),
    ("response p50 (ms)", lambda r: r["response_latency_ms"]["p50"]),
    ("response p99 (ms)", lambda r: r["response_latency_ms"]["p99"]),
    ("response p50, turns not cut in on (ms)", lambda r: r["response_latency_uncut_ms"]["p50"]),
    ("agent: to first audio p50 (ms)", lambda r: _stage(r, "total")),
    ("agent: own share p50 (ms)", lambda r: _stage(r, "agent_share")),
    ("frame lag p99 (ms)", lambda r: r["frame_lag_ms"]["p99"]),
    ("agent CPU per call (% core)", lambda r: r.get("agent_cpu_pct_per_call")),
    ("calls per core", lambda r: r.get("calls_per_core")),
    ("caller send lag p99 (ms)", lambda r: r["caller_send_lag_ms"]["p99"]),
    ("agent tree RSS (MB)", lambda r: r["rss_mb"]),
    ("RSS growth (%)", lambda r: r["rss_growth_pct"]),
    ("lost transcripts", lambda r: r["lost_transcripts"]),
)


def _stage(run: dict, name: str) -> float | None:
    """A stage's median over the level's answers, as the agent measured it (agent_stages.py)."""
    stages = run.get("agent_stages")
    return stages["p50_ms"][name] if stages and stages["answers"] else None


def _table(runs: list[dict]) -> tuple[list[str], list[list[object]]]:
    columns = ["concurrent calls", *(str(r["concurrent"]) for r in runs)]
    rows = [[name, *(_cell(get(r)) for r in runs)] for name, get in FIGURES]
    at = 1 + next(i for i, (name, _) in enumerate(FIGURES) if name == "RSS growth (%)")
    roles = dict.fromkeys(role for r in runs for role in r.get("processes", {}))
    per_process = [[f"  {role} (MB)", *(_process_cell(r, role) for r in runs)] for role in roles]
    return columns, rows[:at] + per_process + rows[at:]


def _process_cell(run: dict, role: str) -> object:
    """Peak MB of one process, with its growth in a soak: "420 (+3.1 %)"."""
    figures = run.get("processes", {}).get(role)
    if not figures or figures["peak_mb"] is None:
        return "-"
    growth = figures["growth_pct"]
    peak = _cell(figures["peak_mb"])
    return peak if growth is None else f"{peak} ({growth:+.1f} %)"


def _cell(value: float | None) -> object:
    if value is None:
        return "-"
    return round(value) if abs(value) >= 10 else value  # whole ms and MB; small ones as .3g


def print_levels(title: str, runs: list[dict]) -> None:
    print_table(title, *_table(runs))
