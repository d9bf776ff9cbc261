"""`switchboard bench turn`: stock Pipecat's per-call Smart Turn against our shared engines.

Same audio, same number of calls, one run. Engines: stock (Pipecat's per-call analyzer), local
(the in-process shared engine), triton (the same analyzer on the Triton client; the server is a
`switchboard turn-server` started for each triton phase, or the Triton at --triton-url). Each
engine is measured in its own fresh worker process (spawned by this run) so their memory
figures stay apart. Prints a table and writes JSON: per engine throughput_per_s, p50_ms,
p99_ms, rss_mb (triton also mean_batch, batch_sizes, server_rss_mb); per engine ratios against
stock (throughput: ours/stock, p99: stock/ours, rss: stock/ours, and cpu_per_clip: stock/ours
where the model runs in the measured process) and the largest probability difference. CPU
time per clip (all threads of the process) is the figure to trust on a shared machine:
neighbours move wall time, not it.
"""

import argparse
import multiprocessing
from collections.abc import Callable

import numpy as np

from pipeline.callers.line import LINE_RATE, PIPELINE_RATE
from pipeline.settings import Settings

ENGINES = ("stock", "local", "triton")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("turn", help="Smart Turn: stock Pipecat vs the shared engines")
    parser.add_argument("--calls", default="32", help="concurrent calls, or a list: 1,8,32")
    parser.add_argument("--rounds", type=int, default=4, help="turns each call asks about")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="our engine's")
    parser.add_argument("--engine", default="stock,local", help=f"any of {','.join(ENGINES)}")
    parser.add_argument(
        "--triton-url", help="host:port of a running Triton for `triton` (default: start one)"
    )
    parser.add_argument(
        "--sample-rate", type=int, default=PIPELINE_RATE, choices=[LINE_RATE, PIPELINE_RATE]
    )
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--plot", help="PNG of latency against calls, per engine")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console

    from pipeline.bench.report import machine, write_json
    from pipeline.callers.voice import caller_turns

    engines = [e for e in args.engine.split(",") if e]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        raise SystemExit(f"unknown engine(s) {sorted(unknown)}: choose from {ENGINES}")
    calls_list = [int(n) for n in args.calls.split(",")]
    console = Console()
    with console.status("synthesizing caller turns with piper..."):
        clips = caller_turns(args.sample_rate)
    runs = []
    for calls in calls_list:
        phases = {}
        for engine in engines:
            doing = f"{engine}: {calls} calls x {args.rounds} turns"
            with console.status(f"{doing}...") as status:
                progress = lambda note, doing=doing: status.update(f"{doing}: {note}")  # noqa: E731
                phases[engine] = _measure(engine, args, settings, calls, clips, progress)
        runs.append(_summarize(calls, phases))
    _print(runs)
    result = {"device": args.device, "sample_rate": args.sample_rate, "rounds": args.rounds}
    result["turn_settings"] = settings.turn.model_dump(mode="json")
    write_json(args.json, {**result, "machine": machine(), "runs": runs})
    if args.plot:
        from pipeline.bench.plot import plot_latency

        plot_latency(runs, args.plot)
    return 0


def _measure(
    engine: str,
    args: argparse.Namespace,
    settings: Settings,
    calls: int,
    clips: list,
    progress: Callable,
) -> dict:
    from pipeline.bench.turn.load import run_phase
    from pipeline.bench.turn.triton_target import measured, triton_target

    turn = settings.turn.model_copy(update={"device": args.device})
    job = (engine, turn, calls, args.rounds, clips, args.sample_rate)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        if engine != "triton":
            return pool.apply(run_phase, job)
        with triton_target(args.triton_url, turn, progress) as (url, server):
            return measured(lambda: pool.apply(run_phase, (*job, url)), url, server)


def _summarize(calls: int, phases: dict[str, dict]) -> dict:
    from pipeline.bench.report import percentile_ms

    engines = {}
    for name, p in phases.items():
        engines[name] = {
            "throughput_per_s": len(p["latencies"]) / p["wall_s"],
            "p50_ms": percentile_ms(p["latencies"], 50),
            "p99_ms": percentile_ms(p["latencies"], 99),
            # For triton this is the agent's share only: the model runs in the server.
            "cpu_ms_per_clip": 1000 * p["cpu_s"] / len(p["latencies"]),
            "rss_mb": p["rss_mb"],
            "rss_idle_mb": p["rss_idle_mb"],
        }
        for key in ("mean_batch", "batch_sizes", "server_rss_mb"):  # what the engine reports
            if key in p:
                engines[name][key] = p[key]
    run: dict = {"calls": calls, "engines": engines}
    if "stock" in phases:
        stock = engines["stock"]
        ours = [name for name in engines if name != "stock"]
        run["ratios"] = {
            name: {
                "throughput": engines[name]["throughput_per_s"] / stock["throughput_per_s"],
                "p99": stock["p99_ms"] / engines[name]["p99_ms"],
                "rss": stock["rss_mb"] / engines[name]["rss_mb"],
            }
            for name in ours
        }
        for name in ours:  # CPU per clip compares like with like only where the model runs here
            if "server_rss_mb" not in engines[name]:
                ratio = stock["cpu_ms_per_clip"] / engines[name]["cpu_ms_per_clip"]
                run["ratios"][name]["cpu_per_clip"] = ratio
        run["max_probability_diff"] = {
            name: float(
                np.abs(
                    np.subtract(phases["stock"]["probabilities"], phases[name]["probabilities"])
                ).max()
            )
            for name in ours
        }
    return run


def _print(runs: list[dict]) -> None:
    from pipeline.bench.report import print_table

    rows = []
    for run in runs:
        for name, e in run["engines"].items():
            figures = [e["throughput_per_s"], e["p50_ms"], e["p99_ms"], e["rss_mb"]]
            rows.append([name, run["calls"], *figures, e["cpu_ms_per_clip"]])
        for name, r in run.get("ratios", {}).items():
            figures = [r["throughput"], "", r["p99"], r["rss"], r.get("cpu_per_clip", "")]
            rows.append([f"{name}/stock", run["calls"], *figures])
    columns = ["engine", "calls", "clips/s", "p50 ms", "p99 ms", "RSS MB", "CPU ms/clip"]
    print_table("Smart Turn under load (ratios: ours vs stock)", columns, rows)
    for run in runs:
        for name, diff in run.get("max_probability_diff", {}).items():
            print(f"calls={run['calls']}: max |p_stock - p_{name}| = {diff:.2e}")
        triton = run["engines"].get("triton", {})
        if "batch_sizes" in triton:
            print(
                f"calls={run['calls']}: Triton formed batches {triton['batch_sizes']} "
                f"(size: executions), mean {triton['mean_batch']:.1f}; "
                f"server RSS {triton.get('server_rss_mb', float('nan')):.0f} MB"
            )
