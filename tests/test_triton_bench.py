"""`switchboard bench turn --engine triton` against the test turn-server: it runs, answers
as the model does, and reports the batches Triton formed, its time per batch in each stage and
the audio bytes a turn puts on the wire."""

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
    # the turns went on the wire as they are (each under 8 s), not padded to 256,000 bytes
    assert 0 < triton["audio_bytes_per_request"] < 2 * 128000
    stages = triton["server_us_per_batch"]
    assert stages["infer"] > 0 and stages["input"] >= 0 and triton["queue_us_per_request"] >= 0
    printed = capsys.readouterr().out
    assert "Triton formed batches" in printed and "audio bytes per request" in printed
