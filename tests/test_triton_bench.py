"""`switchboard bench turn --engine triton` against the test turn-server: it runs, answers
as the model does, and reports the batches Triton formed."""

import json

import pytest
from triton_server_fixture import turn_server  # noqa: F401

from pipeline.cli import main

pytestmark = pytest.mark.slow


def test_bench_turn_measures_triton_and_its_batches(turn_server, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "turn.json"
    argv = ["bench", "turn", "--engine", "triton", "--triton-url", turn_server.url]
    assert main([*argv, "--calls", "3", "--rounds", "1", "--json", str(out)]) == 0
    (run,) = json.loads(out.read_text())["runs"]
    triton = run["engines"]["triton"]
    assert triton["throughput_per_s"] > 0 and 0 < triton["p50_ms"] <= triton["p99_ms"]
    # 3 calls x (1 warm-up round + 1 measured round) requests, in Triton's batches
    formed = {int(size): n for size, n in triton["batch_sizes"].items()}
    assert sum(size * n for size, n in formed.items()) == 3 * 2
    assert triton["mean_batch"] >= 1
    assert "Triton formed batches" in capsys.readouterr().out
