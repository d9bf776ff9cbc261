"""Turn accuracy: Smart Turn int8, fp32 and fp16 verdicts against labelled turn clips."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bench_command import HESITANT, run_bench, tiny_scenario

from pipeline.bench.turn_accuracy.labels import LabelledClip, cut_while_speaking
from pipeline.bench.turn_accuracy.measure import take_in_turn
from pipeline.bench.turn_accuracy.summary import against_int8, judge

MODELS = ("int8", "fp32", "fp16")


def test_judge_counts_false_complete_and_false_incomplete() -> None:
    labels = ["complete", "complete", "incomplete", "incomplete", "incomplete"]
    judged = judge(labels, np.array([0.9, 0.2, 0.7, 0.1, 0.5]))  # 0.5 is not complete (Pipecat)
    assert judged["correct"] == 3 and judged["accuracy"] == 0.6
    assert (judged["false_complete"], judged["false_complete_rate"]) == (1, 1 / 3)
    assert (judged["false_incomplete"], judged["false_incomplete_rate"]) == (1, 0.5)
    assert judge([], np.zeros(0))["accuracy"] is None


def test_within_one_label_of_int8() -> None:
    judged = {"int8": {"correct": 10}, "fp32": {"correct": 9}, "fp16": {"correct": 8}}
    checks = against_int8(judged)
    assert checks["fp32"]["at_least_int8_within_one_label"]
    assert not checks["fp16"]["at_least_int8_within_one_label"]


def test_limit_takes_both_labels_in_turn() -> None:
    def clip(label: str) -> LabelledClip:
        return LabelledClip(label, "piper", label, 16000, np.zeros(10, np.int16))

    clips = [clip("complete")] * 5 + [clip("incomplete")] * 2
    assert [c.label for c in take_in_turn(clips, 3)] == ["complete", "incomplete", "complete"]
    assert len(take_in_turn(clips, 100)) == 7 and take_in_turn(clips, None) == clips


def test_a_cut_in_a_silence_is_not_cut_while_speaking() -> None:
    tone = (8000 * np.sin(np.arange(8000) / 5)).astype(np.int16)
    assert cut_while_speaking(tone)
    assert not cut_while_speaking(np.concatenate([tone, np.zeros(1600, np.int16)]))


@pytest.mark.slow
def test_small_run_writes_per_model_figures_for_both_labels(tmp_path: Path) -> None:
    scenario = tiny_scenario(tmp_path, [(HESITANT, [1000])])
    args = ["--scenario", str(scenario), "--limit", "4"]
    stdout, result = run_bench("turn-accuracy", args, tmp_path, timeout_s=300)
    assert "turn accuracy" in stdout
    assert len(result["clips"]) == 8  # 4 per rate
    assert {c["label"] for c in result["clips"]} == {"complete", "incomplete"}
    for rate in ("16000", "8000"):
        assert set(result["results"][rate]) == set(MODELS)
        for figures in result["results"][rate].values():
            assert figures["clips"] == 4
            assert figures["complete_labels"] == figures["incomplete_labels"] == 2
            for key in ("accuracy", "false_complete_rate", "false_incomplete_rate"):
                assert 0.0 <= figures[key] <= 1.0
        assert set(result["against_int8"][rate]) == {"fp32", "fp16"}
    assert result["models"]["fp16"]["dtype"] == "float16"
    assert result["provenance"]["versions"]["onnxruntime"]


def test_bad_arguments_are_named() -> None:
    command = [sys.executable, "-m", "pipeline.cli", "bench", "turn-accuracy"]
    for args, named in (
        (["--scenario", "nope"], "no scenario 'nope'"),
        (["--limit", "0"], "N >= 1"),
    ):
        done = subprocess.run(command + args, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2
        assert named in done.stderr and "Traceback" not in done.stderr
