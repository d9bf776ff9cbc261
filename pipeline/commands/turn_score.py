"""`switchboard turn-score FILE.wav [...]`: score whole WAV files as turns, print JSON.

In: WAV files (mono 16-bit PCM, any rate Smart Turn takes). Out on stdout: {stem: probability
of a complete turn}, every file scored however many there are: offline scoring has no caller
waiting, so the engine is built with a deadline that cannot expire and requests go in windows
no larger than its queue (the live `turn.deadline_ms` and `queue_size` are for calls). Exit 2:
a file is not readable audio; 1: the engine could not start or a file failed (the others'
scores are still printed, the failures go to stderr).
"""

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.settings import Settings

if TYPE_CHECKING:  # the CLI builds every parser: numpy loads only when a command runs
    import numpy as np

OFFLINE_DEADLINE_MS = 7 * 24 * 3600 * 1000.0  # a week: no offline request ever expires
MAX_WINDOW = 1024  # requests in flight at once, at most


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "turn-score",
        help="score WAV files as whole turns: prints {stem: probability of a complete turn}",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE.wav")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="overrides settings")
    parser.set_defaults(func=run)


async def score_all(
    engine, clips: "dict[str, tuple[np.ndarray, int]]", window: int
) -> dict[str, float | BaseException]:
    """{name: probability, or the exception that request ended in}, `window` requests in
    flight at a time."""
    names = list(clips)
    scores: dict[str, float | BaseException] = {}
    for start in range(0, len(names), window):
        part = names[start : start + window]
        jobs = [engine.submit(*clips[name]) for name in part]
        results = await asyncio.gather(*jobs, return_exceptions=True)
        scores.update(zip(part, results, strict=True))
    return scores


def run(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.turn.engine_registry import build_engine
    from pipeline.wav import WavError, read_wav

    try:
        clips = {path.stem: read_wav(path) for path in args.files}
    except WavError as exc:
        print(f"switchboard turn-score: {exc}", file=sys.stderr)
        return 2
    window = max(1, min(len(clips), MAX_WINDOW, settings.turn.queue_size))
    turn = settings.turn.model_copy(
        update={
            "device": args.device or settings.turn.device,
            "deadline_ms": OFFLINE_DEADLINE_MS,
            "triton_timeout_ms": max(settings.turn.triton_timeout_ms, 600_000.0),
            "queue_size": max(settings.turn.queue_size, window),
        }
    )
    engine = build_engine(turn)
    try:
        try:
            if not engine.wait_ready(600):
                raise RuntimeError("not ready after 600 s")
        except RuntimeError as exc:  # a failed warm-up, with its cause
            print(f"switchboard turn-score: the turn engine did not start: {exc}", file=sys.stderr)
            return 1
        scores = asyncio.run(score_all(engine, clips, window))
    finally:
        engine.close()
    failed = {stem: s for stem, s in scores.items() if isinstance(s, BaseException)}
    for stem, exc in failed.items():
        print(f"switchboard turn-score: {stem}: {type(exc).__name__}: {exc}", file=sys.stderr)
    scored = {stem: round(float(p), 6) for stem, p in scores.items() if stem not in failed}
    print(json.dumps(scored, indent=2))
    return 1 if failed else 0
