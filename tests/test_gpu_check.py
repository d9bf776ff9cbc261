"""`python -m pipeline.bench.gpu_check --device cpu` (the GPU window's command, at CPU sizes):
every step recorded with a status and its numbers, and a failed check makes the exit status 1.
The minimal-venv run (the GPU image's packages only) is `make gpu-check-cpu`, part of make test.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from models.smart_turn_file import locate
from pipeline.bench.gpu_check.__main__ import STEPS

ROOT = Path(__file__).resolve().parents[1]


def gpu_check(out: Path, *args: str) -> tuple[int, dict, str]:
    command = [sys.executable, "-m", "pipeline.bench.gpu_check", "--device", "cpu"]
    command += ["--out", str(out), "--model", str(locate().path), *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    return done.returncode, json.loads((out / "gpu-check.json").read_text()), done.stdout


@pytest.mark.slow
def test_every_step_is_recorded_with_its_status_and_numbers(tmp_path):
    rc, result, stdout = gpu_check(tmp_path)
    steps = result["steps"]
    assert list(steps) == list(STEPS)
    assert rc == 0 and result["ok"], result["failed"]
    assert all(steps[name]["status"] == "pass" for name in STEPS if name != "memory")
    assert steps["memory"] == steps["memory"] | {"status": "skipped"}
    assert steps["provenance"]["torch"] and steps["provenance"]["dtype"] == "float32"
    cases = {(row["case"], row["batch"]) for row in steps["features"]["cases"]}
    assert {"noise", "tones", "silence", "front_padded", "very_short"} <= {c for c, _ in cases}
    for name in ("features", "fp32", "fp16", "runner_path", "engine"):
        assert 0 <= steps[name]["max_abs_diff"] <= steps[name]["tolerance"], name
    assert steps["engine"]["answered"] == steps["engine"]["submits"]
    assert all(row["clips_per_s"] > 0 for row in steps["stages"]["batches"].values())
    assert steps["forward"]["eager"]["clips_per_s"] > 0
    measured = [row for row in steps["load"]["levels"] if row["status"] == "measured"]
    assert measured and all(row["p50_ms"] is not None for row in measured)
    table = (tmp_path / "gpu-check.txt").read_text()
    assert "PASS" in table and "not measured" in table  # CUDA graphs and GPU memory
    assert "[gpu-check" in stdout  # progress lines


def test_a_failed_check_fails_the_run_and_is_recorded(tmp_path):
    rc, result, _ = gpu_check(tmp_path, "--steps", "provenance,features", "--features-tol", "0")
    assert rc == 1 and not result["ok"] and result["failed"] == ["features"]
    features = result["steps"]["features"]
    assert features["status"] == "fail" and features["max_abs_diff"] > 0
    assert not all(check["pass"] for check in features["checks"])
    assert result["steps"]["provenance"]["status"] == "pass"
    assert result["steps"]["engine"]["status"] == "skipped"


def test_a_step_that_raises_is_recorded_and_the_run_goes_on(tmp_path):
    command = [sys.executable, "-m", "pipeline.bench.gpu_check", "--device", "cpu"]
    command += ["--out", str(tmp_path), "--model", str(tmp_path / "missing.onnx")]
    command += ["--steps", "provenance,fp32,memory"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    result = json.loads((tmp_path / "gpu-check.json").read_text())
    assert done.returncode == 1 and result["failed"] == ["fp32"]
    assert "not found" in result["steps"]["fp32"]["error"]
    assert "Traceback" in result["steps"]["fp32"]["traceback"]
    assert result["steps"]["memory"]["status"] == "skipped"
