"""`switchboard turn-score` as a user runs it: a real subprocess, real WAV files."""

import json
import subprocess
import sys

from turn_clips import stock_probability, turn_clips

from pipeline.wav import write_wav


def run_cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pipeline.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


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
