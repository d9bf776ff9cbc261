"""`switchboard bench speech`: how fast the speech server is, and how many calls it carries.

Starts `switchboard speech-server` as its own process (or measures `--server`, any Riva) and
talks to it over gRPC with NVIDIA's riva.client, as the agent does. Prints tables and writes
JSON: TTS and ASR real-time factors (busy seconds per second of audio, one call at a time),
TTS delay to the first streamed chunk, and for each number of simultaneous callers (each
streaming speech paced like a phone line) the delay from the end of a sentence to its final
transcript, and the server's CPU time per call (fractions of a core: a figure that holds
even on a busy machine). A level keeps real time when no call failed and the p95 delay is
within budget.
"""

import argparse
import contextlib
import os

import numpy as np

from pipeline.settings import Settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "speech", help="speech server: ASR/TTS real-time factors, real-time streams"
    )
    parser.add_argument("--server", help="HOST:PORT of a running server (default: start one)")
    parser.add_argument(
        "--streams", default="1,2,4,6,8,12,16", help="simultaneous callers to try, in turn"
    )
    parser.add_argument("--sentences", type=int, default=4, help="sentences each caller says")
    parser.add_argument(
        "--budget",
        type=float,
        default=1.5,
        help="p95 seconds from end of sentence to final transcript that still counts as "
        "real time (includes the 0.32 s endpointing window)",
    )
    parser.add_argument("--json", help="write the figures to this file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console

    from pipeline.bench.report import machine, write_json
    from pipeline.bench.speech import load

    levels = sorted({int(n) for n in args.streams.split(",") if n.strip()})
    console = Console()
    load_before = os.getloadavg()
    with contextlib.ExitStack() as stack:
        address, pid = args.server, None
        if address is None:
            with console.status("starting switchboard speech-server (loading models)..."):
                address, pid = stack.enter_context(load.own_server(max_streams=max(levels)))
        with console.status("TTS: synthesizing the caller sentences..."):
            tts, audio = load.tts_figures(address, settings.tts.voice, pid)
        with console.status("ASR: recognizing them one at a time..."):
            asr = load.asr_figures(address, audio, pid)
        runs = []
        for streams in levels:
            with console.status(f"{streams} caller(s) at once, {args.sentences} sentences each..."):
                figures = load.calls(address, audio, streams, args.sentences, pid)
                runs.append(_level(figures, streams))
            runs[-1]["real_time"] = not runs[-1]["errors"] and runs[-1]["p95_s"] <= args.budget
            if not runs[-1]["real_time"]:
                break  # more callers only gets worse
    real_time = [r["streams"] for r in runs if r["real_time"]]
    cpu = runs[-1]["server_cpu_per_call"]  # at the most callers measured
    result = {
        "server": args.server or "switchboard speech-server (started by the bench)",
        "tts": tts | {"first_chunk_s": _p(tts, 50)},
        "asr": asr,
        "budget_s": args.budget,
        "streams": runs,
        "max_real_time_streams": max(real_time, default=0),
        # what the server's own CPU time says, whatever else ran on the machine
        "calls_per_core_by_cpu": 1 / cpu if cpu else None,
        "machine": machine() | {"load_avg_before": load_before, "load_avg_after": os.getloadavg()},
    }
    _print(result)
    write_json(args.json, result)
    return 0


def _level(figures: dict, streams: int) -> dict:
    delays = np.asarray(figures["delays_s"])
    return {
        "streams": streams,
        "sentences": len(delays),
        "p50_s": float(np.percentile(delays, 50)) if delays.size else float("inf"),
        "p95_s": float(np.percentile(delays, 95)) if delays.size else float("inf"),
        "max_s": float(delays.max()) if delays.size else float("inf"),
        "interim_results": figures["interims"],
        "errors": figures["errors"],
        "server_cpu_per_call": figures["cpu_per_call"],  # cores; None for --server
    }


def _p(figures: dict, q: float) -> float:
    return float(np.percentile(figures["first_chunk_s"], q))


def _print(result: dict) -> None:
    from pipeline.bench.report import print_table

    print_table(
        "Speech server: one call at a time",
        ["measure", "value"],
        [
            ["ASR real-time factor (Recognize), wall", result["asr"]["rtf"]],
            ["ASR real-time factor, server CPU", _or_dash(result["asr"]["cpu_rtf"])],
            ["TTS real-time factor (Synthesize), wall", result["tts"]["rtf"]],
            ["TTS real-time factor, server CPU", _or_dash(result["tts"]["cpu_rtf"])],
            ["TTS first chunk, p50 s (SynthesizeOnline)", result["tts"]["first_chunk_s"]],
        ],
    )
    print_table(
        f"Callers at once (real time: p95 <= {result['budget_s']} s, no errors)",
        ["streams", "p50 s", "p95 s", "max s", "interims", "errors", "real time", "CPU/call"],
        [
            [
                r["streams"],
                r["p50_s"],
                r["p95_s"],
                r["max_s"],
                r["interim_results"],
                len(r["errors"]),
                "yes" if r["real_time"] else "no",
                _or_dash(r["server_cpu_per_call"]),
            ]
            for r in result["streams"]
        ],
    )
    print(f"streams kept in real time: {result['max_real_time_streams']}")
    if result["calls_per_core_by_cpu"]:
        print(
            f"server CPU says: {result['calls_per_core_by_cpu']:.1f} calls per core "
            "(its CPU time per call, at the most callers measured)"
        )


def _or_dash(value: float | None) -> float | str:
    return "-" if value is None else value
