"""`switchboard bench <what>`: groups the benchmark subcommands."""

import argparse
import importlib

BENCH_MODULES = (
    "pipeline.bench.speech.cli",
    "pipeline.bench.turn.cli",
    "pipeline.bench.turn_engine.cli",
    "pipeline.bench.calls.cli",
    "pipeline.bench.turn_quality.cli",
    "pipeline.bench.turn_accuracy.cli",
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="benchmarks: print a table and write JSON")
    bench_subparsers = parser.add_subparsers(dest="bench", required=True, metavar="WHAT")
    for name in BENCH_MODULES:
        importlib.import_module(name).add_parser(bench_subparsers)
