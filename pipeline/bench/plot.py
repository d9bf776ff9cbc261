"""PNG of turn latency (p50 and p99) against concurrent calls, one line pair per engine."""

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
