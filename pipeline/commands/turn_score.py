"""`switchboard turn-score FILE.wav [...]`: score whole WAV files as turns, print JSON."""

import argparse
import asyncio
import json
import sys
from pathlib import Path

from pipeline.settings import Settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "turn-score",
        help="score WAV files as whole turns: prints {stem: probability of a complete turn}",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE.wav")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="overrides settings")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.turn.engine_registry import build_engine
    from pipeline.wav import WavError, read_wav

    try:
        clips = {path.stem: read_wav(path) for path in args.files}
    except WavError as exc:
        print(f"switchboard turn-score: {exc}", file=sys.stderr)
        return 2
    turn = settings.turn.model_copy(update={"device": args.device or settings.turn.device})
    engine = build_engine(turn)

    async def score_all() -> dict[str, float]:
        jobs = [engine.submit(audio, rate) for audio, rate in clips.values()]
        return dict(zip(clips, await asyncio.gather(*jobs), strict=True))

    try:
        scores = asyncio.run(score_all())
    finally:
        engine.close()
    print(json.dumps({stem: round(p, 6) for stem, p in scores.items()}, indent=2))
    return 0
