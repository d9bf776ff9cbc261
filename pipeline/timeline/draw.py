"""A call's timeline as a PNG: one glance shows a cut-off or a slow answer.

In: a CallTimeline (pipeline/timeline/events.py). Out: a PNG with four lanes over the call's
seconds, and the counts of what it drew (CallTimeline.counts):

    caller   the caller's speech (Silero VAD start to stop); the gaps are pauses; a red x is
             a barge-in (the caller spoke over the agent)
    turn     each turn ask at its VAD stop: a dot coloured by the model's verdict (green
             complete, orange incomplete, red fallback) with its probability; a black bar is
             a turn end (the caller's turn released to the LLM)
    latency  each answer's wait, from the caller's last word to the agent's first audio,
             split into the stages of pipeline/agent/turn_stages.py, with its total
    agent    the agent's speech (hatched: cut off by the caller)
"""

from pathlib import Path

from pipeline.agent.turn_stages import STAGES
from pipeline.timeline.events import CallTimeline, call_ids, call_timeline, read_lines

_VERDICT_COLORS = {"complete": "tab:green", "incomplete": "tab:orange", "fallback": "tab:red"}
_LANES = {"agent": 0, "latency": 1, "turn": 2, "caller": 3}


def draw_timeline(timeline: CallTimeline, path: str | Path, title: str = "") -> dict[str, int]:
    """Write the picture to `path`; returns the counts of what it shows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = min(16.0, max(8.0, timeline.end_s / 4))
    fig, ax = plt.subplots(figsize=(width, 3.4))
    _speech(ax, timeline)
    _asks(ax, timeline)
    _latencies(ax, timeline, plt.get_cmap("Set3"))
    ax.set_yticks(list(_LANES.values()), list(_LANES))
    ax.set_ylim(-0.6, 3.6)
    ax.set_xlim(0, timeline.end_s + 0.5)
    ax.set_xlabel("seconds from the call's start")
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title(title or f"call {timeline.call_id}", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return timeline.counts()


def _speech(ax: object, timeline: CallTimeline) -> None:
    caller = [(start, end - start) for start, end in timeline.caller_speech]
    ax.broken_barh(caller, (2.7, 0.6), color="tab:blue", label="caller speech")
    for start, end, interrupted in timeline.agent_speech:
        hatch = "//" if interrupted else None
        ax.broken_barh([(start, end - start)], (-0.3, 0.6), color="tab:green", hatch=hatch)
    ax.broken_barh([], (-0.3, 0.6), color="tab:green", label="agent speech")
    if timeline.barge_ins:
        ax.plot(timeline.barge_ins, [3.0] * len(timeline.barge_ins), "rx", label="barge-in")


def _asks(ax: object, timeline: CallTimeline) -> None:
    for verdict, color in _VERDICT_COLORS.items():
        asks = [a for a in timeline.asks if a.verdict == verdict]
        ax.plot(
            [a.at_s for a in asks], [2.0] * len(asks), "o", color=color, label=f"ask: {verdict}"
        )
    for i, ask in enumerate(timeline.asks):  # labels above and below in turn: asks crowd
        label = f"{ask.probability:.2f}" if ask.probability is not None else ask.reason or "-"
        offset = (-3, 6) if i % 2 == 0 else (-3, -13)
        ax.annotate(label, (ask.at_s, 2.0), xytext=offset, textcoords="offset points", fontsize=7)
    ends = timeline.turn_ends
    ax.vlines(ends, 1.7, 2.3, color="black", linewidth=2, label="turn end")


def _latencies(ax: object, timeline: CallTimeline, colors: object) -> None:
    used: set[str] = set()
    for at, stages in timeline.latencies:
        left = at - stages.get("total", 0) / 1000
        for i, stage in enumerate(STAGES):
            width = stages.get(stage, 0) / 1000
            if width <= 0:
                continue
            label = None if stage in used else stage.replace("_", " ")
            used.add(stage)
            ax.broken_barh([(left, width)], (0.75, 0.5), color=colors(i), label=label)
            left += width
        ax.annotate(
            f"{stages.get('total', 0):.0f} ms",
            (at, 1.25),
            xytext=(2, 2),
            textcoords="offset points",
            fontsize=7,
        )


def draw_calls(events: Path, out_dir: Path) -> list[Path]:
    """One picture per call in the transcripts file `events`, named <call id>.png in
    `out_dir` (`bench calls --timeline DIR`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = read_lines(events) if events.exists() else []
    drawn = []
    for call_id in call_ids(lines):
        path = out_dir / f"{''.join(c if c.isalnum() or c in '-_' else '_' for c in call_id)}.png"
        draw_timeline(call_timeline(lines, call_id), path)
        drawn.append(path)
    return drawn
