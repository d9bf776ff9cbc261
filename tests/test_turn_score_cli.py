"""`switchboard turn-score` as a user runs it: a real subprocess, real WAV files."""

import json
import os
import subprocess
import sys

import numpy as np
from turn_clips import stock_probability, turn_clips

from pipeline.wav import write_wav


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`switchboard ARGS` in a subprocess, with `env` added to this environment."""
    command = [sys.executable, "-m", "pipeline.cli", *args]
    environment = {**os.environ, **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment)


def test_scores_each_file_at_its_own_rate_like_pipecat(tmp_path):
    names = ["piper0_16k", "piper3_8k", "beckett_16k"]
    paths = []
    for name in names:
        audio, rate = turn_clips()[name]
        paths.append(tmp_path / f"{name}.wav")
        write_wav(paths[-1], audio, rate)
    result = run_cli("turn-score", "--device", "cpu", *map(str, paths))
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert sorted(scores) == sorted(names)
    for name in names:
        assert abs(scores[name] - stock_probability(*turn_clips()[name])) <= 1e-3, name


def test_unreadable_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    result = run_cli("turn-score", str(bad))
    assert result.returncode == 2
    assert "notes.wav: not a PCM WAV file" in result.stderr


def test_scores_every_file_of_a_folder_past_the_live_deadline_and_queue(tmp_path):
    """40 files, with a live deadline (50 ms) and queue (4) far too small for them at once:
    offline scoring waits for every answer (before: TimeoutError past the deadline)."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(40):
        paths.append(tmp_path / f"clip{i:02d}.wav")
        write_wav(paths[-1], (rng.standard_normal(4000) * 3000).astype(np.int16), 16000)
    env = {"SWITCHBOARD_TURN__DEADLINE_MS": "50", "SWITCHBOARD_TURN__QUEUE_SIZE": "4"}
    result = run_cli("turn-score", "--device", "cpu", *map(str, paths), env=env)
    assert result.returncode == 0, result.stderr
    scores = json.loads(result.stdout)
    assert sorted(scores) == [p.stem for p in paths]
    assert all(0.0 <= p <= 1.0 for p in scores.values())
