"""Running a `switchboard bench` command on a tiny scenario, for the bench tests.

In: the bench command's name, its extra arguments, the utterances of a tiny scenario (each
parts and pauses in ms) and a folder. Out: the command's stdout and its JSON, once it exited 0
(the assertion shows its stderr otherwise).
"""

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

TINY_HEADER = "name: tiny\nseed: 5\nanswer_within_s: 10\nsteps:\n"
HESITANT = ("I was wondering if", "maybe you could change the delivery address")


def tiny_scenario(folder: Path, utterances: list[tuple[Sequence[str], list[int]]]) -> Path:
    """A scenario file whose steps are these utterances (parts, pauses between them in ms)."""
    steps = ""
    for parts, pauses in utterances:
        steps += "  - utterance: [" + ", ".join(f'"{part}"' for part in parts) + "]\n"
        if pauses:
            steps += f"    pauses_ms: {pauses}\n"
    path = folder / "tiny.yaml"
    path.write_text(TINY_HEADER + steps)
    return path


def run_bench(what: str, args: list[str], folder: Path, timeout_s: float) -> tuple[str, dict]:
    """`switchboard bench WHAT ARGS --json FOLDER/WHAT.json`: its stdout and its JSON."""
    out = folder / f"{what}.json"
    command = [sys.executable, "-m", "pipeline.cli", "bench", what, *args, "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, json.loads(out.read_text())
