"""`switchboard bench turn` fails clearly: refused, expired and failed turns are counted in its
JSON and table, never a crash; an engine that cannot start is reported with its cause; the
JSON says what produced it; stock is not started per call at CUDA scale."""

import argparse
import json

import numpy as np
import pytest
from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.metrics.metrics import TurnMetricsData

import pipeline.callers.voice
from pipeline.bench.report import provenance
from pipeline.bench.turn import cli
from pipeline.bench.turn.load import _load, outcomes
from pipeline.cli import main


@pytest.fixture
def short_turns(monkeypatch):
    """Two 0.5 s turns instead of piper's lines: the load, not the audio, is under test."""
    rng = np.random.default_rng(1)
    turns = [(rng.standard_normal(8000) * 2000).astype(np.int16) for _ in range(2)]
    monkeypatch.setattr(pipeline.callers.voice, "caller_turns", lambda rate: turns)


def bench(tmp_path, *args: str) -> tuple[int, dict]:
    """`switchboard bench turn ARGS --json FILE` → (exit status, the JSON)."""
    out = tmp_path / "turn.json"
    status = main(["bench", "turn", "--rounds", "1", *args, "--json", str(out)])
    return status, json.loads(out.read_text())


def test_a_tiny_queue_reports_refusals_instead_of_crashing(short_turns, tmp_path, monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_TURN__QUEUE_SIZE", "1")
    monkeypatch.setenv("SWITCHBOARD_TURN__WORKERS", "1")
    status, result = bench(tmp_path, "--engine", "local", "--calls", "12")
    assert status == 0  # some turns were scored
    local = result["runs"][0]["engines"]["local"]
    assert local["refused"] > 0
    assert local["fallbacks"] == local["refused"] and local["expired"] == local["errors"] == 0
    assert local["scored"] + local["fallbacks"] == 12
    assert result["runner"] == {"runner": "OnnxRunner", "device": "cpu", "dtype": None}


def test_a_live_deadline_counts_expired_turns(short_turns, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SWITCHBOARD_TURN__DEADLINE_MS", "1")
    argv = ["--engine", "local", "--calls", "3", "--live-deadline"]
    status, result = bench(tmp_path, *argv)
    assert status == 1  # no turn was scored: said, not crashed
    local = result["runs"][0]["engines"]["local"]
    assert local["scored"] == 0 and local["expired"] == local["fallbacks"] == 3
    assert "expired" in capsys.readouterr().out


def test_an_engine_that_cannot_start_is_reported_with_its_cause(short_turns, tmp_path, monkeypatch):
    monkeypatch.setenv("SWITCHBOARD_TURN__MODEL_PATH", str(tmp_path / "missing.onnx"))
    status, result = bench(tmp_path, "--engine", "local", "--calls", "2")
    assert status == 1
    local = result["runs"][0]["engines"]["local"]
    assert "missing.onnx" in local["failed"] and local["scored"] == 0


class _Flaky:
    """An analyzer whose turns go: scored, fallback (no metrics), raises."""

    def __init__(self) -> None:
        self.turn = 0

    def append_audio(self, buffer: bytes, is_speech: bool) -> None:
        pass

    def clear(self) -> None:
        pass

    async def analyze_end_of_turn(self):
        self.turn += 1
        if self.turn % 3 == 2:
            return EndOfTurnState.INCOMPLETE, None
        if self.turn % 3 == 0:
            raise RuntimeError("model exploded")
        metrics = TurnMetricsData(
            processor="x", is_complete=True, probability=0.9, e2e_processing_time_ms=1.0
        )
        return EndOfTurnState.COMPLETE, metrics


async def test_missing_metrics_and_exceptions_are_counted_per_call():
    clips = [np.zeros(1600, dtype=np.int16)]
    tallies = await _load([_Flaky(), _Flaky()], clips, 3, 16000)
    assert [t.probabilities for t in tallies] == [[0.9, None, None]] * 2
    zero = dict.fromkeys(("refused", "expired", "errors"), 0.0)
    counts = outcomes(tallies, zero, zero)
    assert counts["fallbacks"] == 4 and counts["errors"] == 2
    assert counts["first_error"] == "RuntimeError: model exploded"


def test_summary_survives_failed_and_empty_phases():
    def phase(probabilities):
        scored = [p for p in probabilities if p is not None]
        return {
            "latencies": [0.01] * len(scored),
            "probabilities": probabilities,
            "wall_s": 1.0,
            "cpu_s": 0.5,
            "rss_mb": 100.0,
            "rss_idle_mb": 90.0,
            "refused": len(probabilities) - len(scored),
            "fallbacks": len(probabilities) - len(scored),
        }

    phases = {
        "stock": phase([0.2, 0.7]),
        "local": phase([None, None]),
        "triton": {"failed": "RuntimeError: no server"},
    }
    run = cli._summarize(2, phases, {})
    assert run["engines"]["local"]["refused"] == 2 and run["engines"]["local"]["scored"] == 0
    assert np.isnan(run["ratios"]["local"]["p99"]) and "triton" not in run["ratios"]
    assert np.isnan(run["max_probability_diff"]["local"])
    run.pop("_phases")
    cli._print([run])  # prints, no exception


@pytest.mark.parametrize(
    ("device", "flag", "calls", "skipped"),
    [("cuda", None, 1024, True), ("cuda", None, 32, False), ("cuda", 2048, 1024, False)]
    + [("cpu", None, 1024, False), ("cpu", 8, 32, True)],
)
def test_stock_is_skipped_above_its_limit(device, flag, calls, skipped):
    args = argparse.Namespace(device=device, stock_max_calls=flag)
    reason = cli._skip_reason("stock", calls, cli.stock_max_calls(args))
    assert (reason is not None) == skipped
    assert cli._skip_reason("local", calls, cli.stock_max_calls(args)) is None
    if reason:
        assert f"--stock-max-calls {calls}" in reason


def test_provenance_names_machine_gpu_versions_and_runner():
    record = provenance({"runner": "TorchRunner", "device": "cuda", "dtype": "float16"})
    assert record["machine"]["cores_logical"] >= 1 and record["machine"]["cpu"]
    assert record["versions"]["numpy"] == np.__version__
    assert {"torch", "cuda", "onnxruntime"} <= set(record["versions"])
    assert record["gpu"] is None or {"name", "driver"} <= set(record["gpu"])
    assert record["runner"]["dtype"] == "float16"
