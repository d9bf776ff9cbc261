"""`switchboard bench speech` (not written yet)."""

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    subparsers.add_parser("speech", help="(not written yet)")
