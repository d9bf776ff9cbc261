"""`switchboard demo --json`: a whole call in CPU mode through the real WebSocket transport,
exactly as `make demo` places it (the command starts `serve --cpu` and stops it), ending with
the caller's goodbye, the agent's goodbye and the agent hanging up; each answer carries its
latency stages, and the call's timeline picture shows what the JSON says of the call."""

import json
import subprocess
import sys

import pytest
from agent_fixture import REPO, agent_env

pytestmark = pytest.mark.slow

ORDER_WORDS = ("kettle", "shipped", "friday", "1234", "order")


def test_demo_call_answers_and_looks_up_the_order(tmp_path) -> None:
    result_path, log_dir = tmp_path / "call.json", tmp_path / "logs"
    command = [sys.executable, "-m", "pipeline.cli", "demo", "--json", str(result_path)]
    command += ["--log-dir", str(log_dir), "--timeline", str(tmp_path / "call.png")]
    run = subprocess.run(
        command, cwd=REPO, env=agent_env(), capture_output=True, text=True, timeout=900
    )
    logs = "\n".join(p.read_text(errors="replace") for p in sorted(log_dir.glob("*.log")))
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{logs[-4000:]}"

    result = json.loads(result_path.read_text())
    assert result["calls_failed"] == 0
    turns = result["turns"]
    assert [t["role"] for t in turns[:2]] == ["agent", "caller"]  # the agent greets first
    answers = [t for t in turns if t["role"] == "agent" and t["latency_ms"] is not None]
    assert len(answers) == 3, turns
    assert all(t["text"].strip() for t in answers), turns
    assert all(0 < t["latency_ms"] < 15000 for t in answers), turns
    # The caller gave order number 1234: the LLM called the tool, and the answer is about it.
    assert "tool lookup_order(" in logs, logs[-4000:]
    order_answer = answers[1]["text"].lower()
    assert any(word in order_answer for word in ORDER_WORDS), turns
    # The caller said goodbye: the hint picked end_call, the agent said goodbye and hung up.
    assert "tool end_call(" in logs, logs[-4000:]
    assert "goodbye" in answers[2]["text"].lower(), turns
    assert result["agent_hung_up"] is True, logs[-4000:]
    assert "(hung up)" in run.stdout
    # The conversation is printed with each agent turn's latency and where it went.
    assert "caller" in run.stdout and " ms)" in run.stdout and "agent side " in run.stdout
    for answer in answers:  # the agent's stages (pipeline/agent/turn_stages.py)
        stages = answer["stages_ms"]
        assert stages and stages["total"] > 0 and stages["llm_first_token"] > 0, answers
        assert 0 <= stages["agent_share"] <= stages["total"], answers
    # The picture shows the call the JSON describes: its caller turns, turn asks, agent turns.
    assert (tmp_path / "call.png").read_bytes().startswith(b"\x89PNG")
    drawn = result["timeline"]
    assert drawn["caller_turns"] == sum(t["role"] == "caller" for t in turns), (drawn, turns)
    assert drawn["agent_turns"] == sum(t["role"] == "agent" for t in turns), (drawn, turns)
    assert drawn["turn_asks"] == len(result["turn_asks"]) >= drawn["caller_turns"], drawn
    assert all(a["verdict"] in ("complete", "incomplete", "fallback") for a in result["turn_asks"])
