"""`switchboard bench turn` (not written yet)."""

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    subparsers.add_parser("turn", help="(not written yet)")
