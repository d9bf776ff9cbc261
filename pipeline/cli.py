"""The `switchboard` command: parses arguments, loads settings, runs one subcommand.

Each subcommand lives in its own module of `pipeline/commands/` with an `add_parser(subparsers)`
function that sets `func(args, settings) -> int`; heavy imports happen inside `func`, so
`--help` stays fast.
"""

import argparse
import importlib
import sys

from pipeline.process_memory import release_large_blocks
from pipeline.settings import SettingsError, load_settings

# Modules that contribute subcommands, in the order `--help` lists them.
COMMAND_MODULES = (
    "pipeline.commands.speech_server",
    "pipeline.commands.turn_score",
    "pipeline.commands.turn_server",
    "pipeline.commands.bench",
    "pipeline.commands.llm_server",
    "pipeline.commands.serve",
    "pipeline.commands.demo",
    "pipeline.commands.timeline",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard", description="On-prem voice agent for air-gapped call centers."
    )
    parser.add_argument("--config", help="YAML settings file (env SWITCHBOARD_* overrides it)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    release_large_blocks()  # servers run for weeks: see pipeline/process_memory.py
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    return args.func(args, settings)


if __name__ == "__main__":
    sys.exit(main())
