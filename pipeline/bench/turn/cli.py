"""`switchboard bench turn`: stock Pipecat's per-call Smart Turn against our shared engines.

Same audio, same number of calls, one run. Engines: stock (Pipecat's per-call analyzer), local
(the in-process shared engine), triton (the same analyzer on the Triton client; the server is a
`switchboard turn-server` started for each triton phase, or the Triton at --triton-url). Each
engine is measured in its own fresh worker process (spawned by this run) so their memory
figures stay apart. Prints a table and writes JSON: provenance (machine, GPU and driver, torch,
CUDA, numpy and onnxruntime versions, the local runner's device and dtype); per engine
throughput_per_s, p50_ms, p99_ms, rss_mb, and the turns decided without the model: refused
(queue full), expired (past the deadline), errors, fallbacks (all turns with no probability)
(triton also mean_batch, batch_sizes, server_rss_mb); per engine ratios against stock
(throughput: ours/stock, p99: stock/ours, rss: stock/ours, and cpu_per_clip: stock/ours where
the model runs in the measured process) and the largest probability difference. CPU time per
clip (all threads of the process) is the figure to trust on a shared machine: neighbours move
wall time, not it.

Nothing a request can do ends the run: refusals, expirations and failed requests are counted;
an engine that cannot start (a failed warm-up, a turn-server that does not come up) is
recorded as `failed` with its cause, and the command then exits 1. Stock runs one ONNX
session and thread per call on the CPU: with `--device cuda` it is skipped above
`--stock-max-calls` (default 64), so a 1,024-call CUDA run does not start 1,024 of them.
"""

import argparse
import math
import multiprocessing
from collections.abc import Callable

import numpy as np

from pipeline.callers.line import LINE_RATE, PIPELINE_RATE
from pipeline.settings import Settings

ENGINES = ("stock", "local", "triton")
STOCK_MAX_CALLS_CUDA = 64  # stock's default cap when our engine runs on CUDA
COUNTS = ("refused", "expired", "errors", "fallbacks")
FIGURES = ("throughput_per_s", "p50_ms", "p99_ms", "cpu_ms_per_clip", "rss_mb", "rss_idle_mb")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "turn",
        help="Smart Turn: stock Pipecat vs the shared engines",
        description="Smart Turn under load: stock Pipecat (one ONNX session per call) against "
        "the shared engines. Refused, expired and failed turns are counted, never fatal; an "
        "engine that cannot start is reported with its cause (exit status 1).",
    )
    parser.add_argument("--calls", default="32", help="concurrent calls, or a list: 1,8,32")
    parser.add_argument("--rounds", type=int, default=4, help="turns each call asks about")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="our engine's")
    parser.add_argument("--engine", default="stock,local", help=f"any of {','.join(ENGINES)}")
    parser.add_argument(
        "--stock-max-calls",
        type=int,
        help="skip stock above this many calls (it starts one CPU ONNX session and thread per "
        f"call); default: {STOCK_MAX_CALLS_CUDA} with --device cuda, no limit on cpu. Ratios "
        "against stock are given where both ran",
    )
    parser.add_argument(
        "--live-deadline",
        action="store_true",
        help="keep turn.deadline_ms (turns past it expire and fall back, as on a live call); "
        "default: wait for every answer",
    )
    parser.add_argument(
        "--triton-url", help="host:port of a running Triton for `triton` (default: start one)"
    )
    parser.add_argument(
        "--sample-rate", type=int, default=PIPELINE_RATE, choices=[LINE_RATE, PIPELINE_RATE]
    )
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--plot", help="PNG of latency against calls, per engine")
    parser.set_defaults(func=run)


def stock_max_calls(args: argparse.Namespace) -> int | None:
    """The most calls stock runs at: --stock-max-calls, else 64 on CUDA, else no limit."""
    if args.stock_max_calls is not None:
        return args.stock_max_calls
    return STOCK_MAX_CALLS_CUDA if args.device == "cuda" else None


def _skip_reason(engine: str, calls: int, cap: int | None) -> str | None:
    """Why `engine` is not measured at `calls` calls, None when it is."""
    if engine != "stock" or cap is None or calls <= cap:
        return None
    return (
        f"stock skipped at {calls} calls: it would start {calls} ONNX sessions and threads on "
        f"the CPU (limit {cap}; --stock-max-calls {calls} runs it anyway)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Measure each engine at each call count; print the table, write JSON. 0: every engine
    measured scored turns; 1: an engine failed to start or scored none."""
    from rich.console import Console

    from pipeline.bench.report import provenance, write_json
    from pipeline.callers.voice import caller_turns

    engines = [e for e in args.engine.split(",") if e]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        raise SystemExit(f"unknown engine(s) {sorted(unknown)}: choose from {ENGINES}")
    calls_list = [int(n) for n in args.calls.split(",")]
    cap = stock_max_calls(args)
    console = Console()
    with console.status("synthesizing caller turns with piper..."):
        clips = caller_turns(args.sample_rate)
    runs = []
    for calls in calls_list:
        phases, skipped = {}, {}
        for engine in engines:
            if reason := _skip_reason(engine, calls, cap):
                skipped[engine] = reason
                console.print(f"[yellow]{reason}")
                continue
            doing = f"{engine}: {calls} calls x {args.rounds} turns"
            with console.status(f"{doing}...") as status:
                progress = lambda note, doing=doing: status.update(f"{doing}: {note}")  # noqa: E731
                try:
                    phases[engine] = _measure(engine, args, settings, calls, clips, progress)
                except Exception as exc:  # noqa: BLE001 - reported with its cause, run goes on
                    phases[engine] = {"failed": f"{type(exc).__name__}: {exc}"}
            if "failed" in phases[engine]:
                console.print(f"[red]{engine} at {calls} calls failed: {phases[engine]['failed']}")
        runs.append(_summarize(calls, phases, skipped))
    _print(runs)
    result = {"device": args.device, "sample_rate": args.sample_rate, "rounds": args.rounds}
    result["live_deadline"] = args.live_deadline
    result["stock_max_calls"] = cap
    result["turn_settings"] = settings.turn.model_dump(mode="json")
    runner = next(
        (p["runner"] for run in runs for p in run.pop("_phases") if p.get("runner")), None
    )
    write_json(args.json, {**result, **provenance(runner), "runs": runs})
    if args.plot:
        from pipeline.bench.plot import plot_latency

        plot_latency(runs, args.plot)
    measured = [e for run in runs for e in run["engines"].values()]
    return 1 if any(e.get("failed") or not e["scored"] for e in measured) else 0


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
    live = args.live_deadline
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        if engine != "triton":
            return pool.apply(run_phase, (*job, None, live))
        with triton_target(args.triton_url, turn, progress) as (url, server):
            phase = lambda: pool.apply(run_phase, (*job, url, live))  # noqa: E731
            return measured(phase, url, server, turn)


def _ratio(a: float, b: float) -> float:
    """a / b, NaN where either is missing (NaN) or b is 0."""
    return a / b if b and math.isfinite(a) and math.isfinite(b) else float("nan")


def _engine_figures(p: dict) -> dict:
    """One measured phase → its figures and counts (a failed phase: NaN figures, its cause)."""
    if "failed" in p:
        return {"failed": p["failed"], "scored": 0, **dict.fromkeys(FIGURES, float("nan"))}
    from pipeline.bench.report import percentile_ms

    scored = len(p["latencies"])
    figures = {
        "scored": scored,
        "throughput_per_s": scored / p["wall_s"],
        "p50_ms": percentile_ms(p["latencies"], 50),
        "p99_ms": percentile_ms(p["latencies"], 99),
        # For triton this is the agent's share only: the model runs in the server.
        "cpu_ms_per_clip": 1000 * p["cpu_s"] / scored if scored else float("nan"),
        "rss_mb": p["rss_mb"],
        "rss_idle_mb": p["rss_idle_mb"],
        **{key: p.get(key, 0) for key in COUNTS},
    }
    # what the engine reports
    for key in (
        "first_error", "mean_batch", "batch_sizes", "server_rss_mb", "runner",
        "audio_bytes_per_request", "server_us_per_batch", "queue_us_per_request",
        "model_us_per_batch",
    ):  # fmt: skip
        if key in p:
            figures[key] = p[key]
    return figures


def _max_diff(a: list[float | None], b: list[float | None]) -> float:
    """Largest |a - b| over the turns both scored (NaN when there are none)."""
    diffs = [abs(x - y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    return float(np.max(diffs)) if diffs else float("nan")


def _summarize(calls: int, phases: dict[str, dict], skipped: dict[str, str]) -> dict:
    """One call count's phases → {calls, engines, skipped, ratios, max_probability_diff}
    (plus `_phases`, the raw phases, which `run` takes off before writing)."""
    engines = {name: _engine_figures(p) for name, p in phases.items()}
    run: dict = {"calls": calls, "engines": engines, "_phases": list(phases.values())}
    if skipped:
        run["skipped"] = skipped
    if "stock" in phases and "failed" not in phases["stock"]:
        stock = engines["stock"]
        ours = [name for name in engines if name != "stock" and "failed" not in engines[name]]
        run["ratios"] = {
            name: {
                "throughput": _ratio(engines[name]["throughput_per_s"], stock["throughput_per_s"]),
                "p99": _ratio(stock["p99_ms"], engines[name]["p99_ms"]),
                "rss": _ratio(stock["rss_mb"], engines[name]["rss_mb"]),
            }
            for name in ours
        }
        for name in ours:  # CPU per clip compares like with like only where the model runs here
            if "server_rss_mb" not in engines[name]:
                ratio = _ratio(stock["cpu_ms_per_clip"], engines[name]["cpu_ms_per_clip"])
                run["ratios"][name]["cpu_per_clip"] = ratio
        run["max_probability_diff"] = {
            name: _max_diff(phases["stock"]["probabilities"], phases[name]["probabilities"])
            for name in ours
        }
    return run


def _print(runs: list[dict]) -> None:
    from pipeline.bench.report import print_table

    rows = []
    for run in runs:
        for name, e in run["engines"].items():
            figures = [e["throughput_per_s"], e["p50_ms"], e["p99_ms"], e["rss_mb"]]
            counts = ["failed"] * len(COUNTS) if "failed" in e else [e[k] for k in COUNTS]
            rows.append([name, run["calls"], *figures, e["cpu_ms_per_clip"], *counts])
        for name, r in run.get("ratios", {}).items():
            figures = [r["throughput"], "", r["p99"], r["rss"], r.get("cpu_per_clip", "")]
            rows.append([f"{name}/stock", run["calls"], *figures, *[""] * len(COUNTS)])
    columns = ["engine", "calls", "clips/s", "p50 ms", "p99 ms", "RSS MB", "CPU ms/clip"]
    columns += ["refused", "expired", "errors", "fallbacks"]
    print_table("Smart Turn under load (ratios: ours vs stock)", columns, rows)
    for run in runs:
        for reason in run.get("skipped", {}).values():
            print(reason)
        for name, e in run["engines"].items():
            if "failed" in e:
                print(f"calls={run['calls']}: {name} failed: {e['failed']}")
                continue
            if e["fallbacks"]:
                print(
                    f"calls={run['calls']}: {name} decided {e['fallbacks']} turns without the "
                    f"model (refused {e['refused']}, expired {e['expired']}, "
                    f"errors {e['errors']}); {e['scored']} scored"
                )
            if "first_error" in e:
                print(f"calls={run['calls']}: {name}'s first error: {e['first_error']}")
        for name, diff in run.get("max_probability_diff", {}).items():
            print(f"calls={run['calls']}: max |p_stock - p_{name}| = {diff:.2e}")
        triton = run["engines"].get("triton", {})
        if "batch_sizes" in triton:
            print(
                f"calls={run['calls']}: Triton formed batches {triton['batch_sizes']} "
                f"(size: executions), mean {triton['mean_batch']:.1f}; "
                f"server RSS {triton.get('server_rss_mb', float('nan')):.0f} MB"
            )
        if "server_us_per_batch" in triton:
            stages = ", ".join(
                f"{stage} {us:.0f}" for stage, us in triton["server_us_per_batch"].items() if us
            )
            print(
                f"calls={run['calls']}: Triton µs per batch: {stages}; queue "
                f"{triton['queue_us_per_request'] or float('nan'):.0f} µs per request; "
                f"{triton.get('audio_bytes_per_request', float('nan')):.0f} audio bytes "
                f"per request; the model alone {triton.get('model_us_per_batch', float('nan')):.0f}"
                " µs per batch"
            )
