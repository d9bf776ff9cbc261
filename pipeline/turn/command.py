"""Subcommands of pipeline.turn (not written yet)."""

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    del subparsers
