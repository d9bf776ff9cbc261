"""`switchboard bench turn-engine`: the turn engine alone, at the rates a GPU must serve.

    switchboard bench turn-engine --runner host-only                 # 2048 closed-loop submitters
    switchboard bench turn-engine --runner host-only --rate 20000    # open loop, Poisson arrivals
    switchboard bench turn-engine --runner torch --device cuda --concurrency 32,256,1024,4096

Drives the in-process batching engine directly (no Pipecat analyzers in the loop) with int16
16 kHz turns of mixed lengths (1-8 s, mean about 3 s) from submitters on event loops in this
process. `--runner host-only` runs everything but the model (queueing, batching, packing into
the staging buffer, handing answers back): what the host must sustain so that it never holds
a GPU back. `--runner torch|onnx` runs the real model on `--device`. Prints a table and writes
JSON (--json): per level `clips_per_s` (turns completed in the measured window over its
length), `p50_ms` and `p99_ms` (submit to answer), `batch_sizes` ({size: count}),
`host_us_per_clip` (CPU time of the engine's worker threads per turn), and the refused,
expired and failed turns, which are counted, never fatal. Stock Pipecat has no shared engine
to compare here: `bench turn` compares the two through Pipecat's analyzers.
"""

import argparse

from pipeline.settings import Settings

RUNNERS = ("host-only", "torch", "onnx")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "turn-engine",
        help="the turn engine alone: closed-loop or open-loop load, host-only or a real model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runner", choices=RUNNERS, default="host-only")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="torch's")
    parser.add_argument("--concurrency", default="2048", help="closed-loop submitters: N or a list")
    parser.add_argument("--rate", help="open loop instead: offered turns/s, N or a list")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per level")
    parser.add_argument("--warm-up", type=float, default=1.0, help="load before measuring (s)")
    parser.add_argument("--loops", type=int, default=4, help="event loops the submitters use")
    parser.add_argument("--max-batch", type=int, default=256, help="the engine's largest batch")
    parser.add_argument("--queue-size", type=int, default=8192, help="the engine's queue bound")
    parser.add_argument("--json", help="write the figures to this file")
    parser.set_defaults(func=run)


def _levels(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def run(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.bench.report import print_table, provenance, write_json
    from pipeline.bench.turn_engine.measure import measure_level

    mode = "open" if args.rate else "closed"
    values = _levels(args.rate if args.rate else args.concurrency)
    levels = [measure_level(args, settings.turn, mode, value) for value in values]
    runner = {"runner": args.runner, "device": args.device, "max_batch": args.max_batch}
    result = {"mode": mode, "levels": levels, "provenance": provenance(runner)}
    columns = ["offered /s" if mode == "open" else "submitters", "clips/s", "p50 ms", "p99 ms",
               "mean batch", "host µs/clip", "refused", "expired", "errors"]  # fmt: skip
    rows = [
        [
            round(level["offered"]),
            round(level["clips_per_s"]),
            level["p50_ms"],
            level["p99_ms"],
            level["mean_batch"],
            level["host_us_per_clip"],
            level["refused"],
            level["expired"],
            level["errors"],
        ]  # fmt: skip
        for level in levels
    ]
    print_table(f"turn engine: {args.runner} on {args.device}, {mode} loop", columns, rows)
    write_json(args.json, result)
    return 0
