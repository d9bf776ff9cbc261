"""`bench calls --stand-ins scripted`, live: SIP/RTP calls against its own `serve --cpu`
whose speech and LLM servers are the scripted stand-ins. The calls complete, the agent heard
the scenario's own lines (the scripted ASR's answers reached its transcripts), and the level
reports the agent process's CPU per call and calls per core; `--timeline` draws each call."""

import json
import subprocess
import sys
from collections import defaultdict

import pytest
from bench_command import run_bench, tiny_scenario

from pipeline.bench.calls.scenario import load_scenario

pytestmark = pytest.mark.slow

LINES = ("I would like to check my order", "When will it arrive?")


def test_sip_calls_on_scripted_stand_ins_report_cpu_per_call(tmp_path) -> None:
    scenario = tiny_scenario(tmp_path, [((line,), []) for line in LINES])
    assert load_scenario(scenario).fragments() == list(LINES)
    args = ["--transport", "sip", "--calls", "3", "--turn", "vad", "--stand-ins", "scripted"]
    args += ["--scenario", str(scenario), "--log-dir", str(tmp_path / "logs")]
    args += ["--timeline", str(tmp_path / "timelines")]
    stdout, result = run_bench("calls", args, tmp_path, timeout_s=300)
    assert result["stand_ins"] == "scripted" and result["transport"] == "sip"
    assert result["completed"] == 3 and result["failed"] == 0, result["per_call"]
    assert result["missed_turns"] < result["turns"]
    assert result["agent_cpu_pct_per_call"] > 0 and result["calls_per_core"] > 0
    assert result["agent_cpu_window_s"] >= 2
    assert "agent CPU per call (% core)" in stdout and "calls per core" in stdout
    heard = defaultdict(list)
    for line in (tmp_path / "logs" / "transcripts.jsonl").read_text().splitlines():
        entry = json.loads(line)
        if entry.get("role") == "caller":
            heard[entry["call_id"]].append(entry["text"])
    assert len(heard) == 3
    for texts in heard.values():  # each call's stream reads the script from the top
        assert texts[0] == LINES[0] and set(texts) <= set(LINES), texts
    # --timeline: each SIP call's picture, from the agent's turn events
    pictures = sorted((tmp_path / "timelines").glob("*.png"))
    assert len(pictures) == 3 and "timelines: 3 in" in stdout, stdout
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pictures)


def test_stand_ins_are_for_the_agent_the_benchmark_starts() -> None:
    command = [sys.executable, "-m", "pipeline.cli", "bench", "calls"]
    command += ["--url", "sip:127.0.0.1:5060", "--stand-ins", "scripted"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--stand-ins is for the agent the benchmark starts" in done.stderr
