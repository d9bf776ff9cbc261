"""PNGs of benchmark figures: against concurrent calls, turn latency per engine (bench turn),
response latency and turn-taking errors (bench calls); pauses cut against turn latency per
turn policy (bench turn-quality)."""

from pathlib import Path


def plot_latency(runs: list[dict], path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    engines = sorted({name for run in runs for name in run["engines"]})
    for name in engines:
        points = [(r["calls"], r["engines"][name]) for r in runs if name in r["engines"]]
        calls = [c for c, _ in points]
        ax.plot(calls, [e["p99_ms"] for _, e in points], marker="o", label=f"{name} p99")
        ax.plot(calls, [e["p50_ms"] for _, e in points], marker=".", ls="--", label=f"{name} p50")
    ax.set_xlabel("concurrent calls asking at once")
    ax.set_ylabel("turn verdict latency (ms)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_calls(runs: list[dict], path: str | Path) -> None:
    """`bench calls`: response latency (p50, p99) and false interruptions and missed turns
    (per caller turn) against concurrent calls."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted(runs, key=lambda r: r["concurrent"])
    calls = [r["concurrent"] for r in runs]
    fig, (latency, turns) = plt.subplots(1, 2, figsize=(11, 4.5))
    for q, style in (("p99", "-"), ("p50", "--")):
        values = [r["response_latency_ms"][q] for r in runs]
        latency.plot(calls, values, marker="o", ls=style, label=f"response {q}")
    latency.set_ylabel("caller's last word to agent's first audio (ms)")
    for key, label in (("false_interruptions", "false interruptions"), ("missed_turns", "missed")):
        share = [r[key] / r["turns"] if r["turns"] else 0.0 for r in runs]
        turns.plot(calls, share, marker="o", label=label)
    turns.set_ylabel("share of caller turns")
    for ax in (latency, turns):
        ax.set_xticks(calls)
        ax.set_xlabel("concurrent calls")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_tradeoff(tradeoff: dict, knobs: dict[str, str], path: str | Path) -> None:
    """`bench turn-quality`: per audio rate, pauses cut against p50 latency from the last word,
    one curve per turn policy over its knob (dashed: with the transcript wait), each point
    labelled with its knob value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tradeoff), figsize=(6.5 * len(tradeoff), 5), squeeze=False)
    colors = {mode: f"C{i}" for i, mode in enumerate(knobs)}
    for ax, (rate, modes) in zip(axes[0], tradeoff.items(), strict=True):
        for mode, curve in modes.items():
            base = mode.removesuffix("_stt")
            done = sorted(
                (p for p in curve if p["latency_p50_ms"] is not None and p["cut_rate"] is not None),
                key=lambda p: p["latency_p50_ms"],
            )
            x = [p["latency_p50_ms"] for p in done]
            y = [100 * p["cut_rate"] for p in done]
            style = "--" if mode != base else "-"
            label = f"{mode.replace('_', '+')} ({knobs[base]})"
            marker = "o" if len(done) > 1 else "D"  # a single point: stock Smart Turn
            ax.plot(x, y, style, marker=marker, color=colors[base], label=label)
            for p, xi, yi in zip(done, x, y, strict=True):
                ax.annotate(
                    f"{p['knob']:g}",
                    (xi, yi),
                    fontsize=7,
                    xytext=(3, 3),
                    textcoords="offset points",
                )
        ax.set_title(f"{int(rate) // 1000} kHz" + (" G.711" if rate == "8000" else ""))
        ax.set_xlabel("latency p50, last word to end of turn (ms)")
        ax.set_ylabel("pauses inside an utterance cut (%)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
