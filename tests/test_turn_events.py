"""A call's turn events (pipeline/agent/turn_events.py), their latency stages
(pipeline/agent/turn_stages.py) and the timeline drawn from them (pipeline/timeline/,
`switchboard timeline`). The end-to-end proofs: tests/test_redaction.py (a real call writes the
events, with no words in them), tests/test_demo_call.py (`demo --timeline` against the JSON)
and tests/test_demo_browser.py (the console).

The asks come from the strategy object the agent runs, fed real Pipecat frames of piper speech
through the agent's VAD and the real shared engine (the bench's audio-time replay); the
breakdown is Pipecat's own LatencyBreakdown model."""

import asyncio
import json

import numpy as np
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    InterruptionFrame,
    MetricsFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import TurnMetricsData
from pipecat.observers.base_observer import FramePushed
from pipecat.observers.user_bot_latency_observer import (
    LatencyBreakdown,
    LatencyContribution,
    LatencyOwnerKind,
    MeasuredFrom,
)
from pipecat.processors.frame_processor import FrameDirection
from prometheus_client import REGISTRY

from pipeline.agent.transcripts import TranscriptWriter
from pipeline.agent.turn_events import TurnEvents, file_sink
from pipeline.agent.turn_stages import STAGES, TOTALS, describe, stages_ms
from pipeline.agent.vad import agent_vad
from pipeline.bench.turn_quality.replay import vad_track
from pipeline.bench.turn_quality.replay_holding import replay_holding
from pipeline.callers.telephone_audio import agent_frames
from pipeline.callers.utterance_audio import line_noise, render_utterance
from pipeline.cli import main
from pipeline.settings import AgentSettings, TurnPolicySettings, TurnSettings
from pipeline.timeline.draw import draw_calls, draw_timeline
from pipeline.timeline.events import call_timeline, read_lines
from pipeline.turn.analyzer import SharedSmartTurnAnalyzer
from pipeline.turn.stop_strategy import HoldingTurnStopStrategy, TurnAsk


def _asks(turn: TurnSettings) -> tuple[list[TurnAsk], int]:
    """Replay a sentence with a pause through the holding strategy; its asks and model calls."""
    rendered = render_utterance(["My order number is", "four five six"], [1500], seed=5)
    audio = np.concatenate([rendered.audio, line_noise(int(4.5 * 16000), 6, 16000)])
    warm = asyncio.run(agent_frames(line_noise(16000, 7, 16000), 16000))
    frames = asyncio.run(agent_frames(audio, 16000))
    track = vad_track(frames, 0.2, agent_vad(AgentSettings()), warm)
    strategy = HoldingTurnStopStrategy(
        turn_analyzer=SharedSmartTurnAnalyzer(settings=turn),
        policy=TurnPolicySettings(),
        wait_for_transcript=False,
    )
    asks: list[TurnAsk] = []

    @strategy.event_handler("on_turn_ask")
    async def _asked(_strategy: object, ask: TurnAsk) -> None:
        asks.append(ask)

    replay = asyncio.run(replay_holding(track, strategy))
    return asks, len(replay.model_ms)


def _count(metric: str) -> float:
    return REGISTRY.get_sample_value(f"{metric}_count") or 0.0


def test_every_ask_is_reported_with_its_probability_and_verdict() -> None:
    before = {
        m: _count(m) for m in ("switchboard_turn_probability", "switchboard_turn_decision_seconds")
    }
    asks, asked = _asks(TurnSettings(device="cpu"))
    assert len(asks) == asked == 2  # once per VAD stop
    assert all(_count(m) == n + 2 for m, n in before.items())  # the dashboard's histograms
    for ask in asks:
        assert ask.probability is not None and 0.0 <= ask.probability <= 1.0
        assert ask.verdict == ("complete" if ask.probability > 0.5 else "incomplete")
        assert ask.reason is None and ask.hold_ms >= 0 and ask.decision_ms > 0


def test_an_ask_past_its_deadline_is_a_fallback_with_its_reason() -> None:
    asks, _ = _asks(TurnSettings(device="cpu", deadline_ms=0.001))
    assert asks and all(a.verdict == "fallback" and a.reason == "deadline" for a in asks)
    assert all(a.probability is None for a in asks)


def test_frames_become_events_with_barge_ins_and_stock_asks() -> None:
    seen: list[tuple[str, dict]] = []

    async def sink(kind: str, _at: float, fields: dict) -> None:
        seen.append((kind, fields))

    events = TurnEvents([sink])  # not attached to a holding strategy: asks from the metrics
    stock = TurnMetricsData(
        processor="LocalSmartTurnAnalyzerV3",
        is_complete=False,
        probability=0.2,
        e2e_processing_time_ms=40.0,
    )
    frames = [
        BotStartedSpeakingFrame(),
        VADUserStartedSpeakingFrame(start_secs=0.2),
        InterruptionFrame(),
        BotStoppedSpeakingFrame(),
        VADUserStoppedSpeakingFrame(stop_secs=0.2),
        MetricsFrame(data=[stock]),
    ]
    for frame in frames:
        pushed = FramePushed(None, None, frame, FrameDirection.DOWNSTREAM, 0)
        asyncio.run(events.on_push_frame(pushed))
    kinds = [kind for kind, _ in seen]
    assert kinds == [
        "agent_started",
        "caller_started",
        "agent_stopped",
        "caller_stopped",
        "turn_ask",
    ]
    assert seen[1][1] == {"barge_in": True} and seen[2][1] == {"interrupted": True}
    assert seen[4][1]["verdict"] == "incomplete" and seen[4][1]["probability"] == 0.2


def _breakdown() -> LatencyBreakdown:
    parts = [  # (key, owner kind, seconds), as Pipecat names them
        ("endpointing_wait", LatencyOwnerKind.SETTING, 0.2),
        ("transcription", LatencyOwnerKind.SERVICE, 0.1),
        ("turn_detection", LatencyOwnerKind.SETTING, 0.3),
        ("llm_inference", LatencyOwnerKind.SERVICE, 0.25),
        ("sentence_aggregation", LatencyOwnerKind.SETTING, 0.05),
        ("speech_synthesis", LatencyOwnerKind.SERVICE, 0.15),
        ("pipeline", LatencyOwnerKind.PIPELINE, 0.01),
        ("output_transport", LatencyOwnerKind.PIPELINE, 0.04),
    ]
    contributions = [
        LatencyContribution(
            key=k, label=k, owner="x", owner_kind=o, start_time=0.0, duration_secs=s
        )
        for k, o, s in parts
    ]
    return LatencyBreakdown(
        contributions=contributions, total_secs=1.1, measured_from=MeasuredFrom.USER_SILENCE
    )


def test_stages_name_every_part_of_pipecats_breakdown_and_sum_to_the_total() -> None:
    stages = stages_ms(_breakdown())
    assert set(stages) == set(STAGES) | set(TOTALS)
    assert sum(stages[s] for s in STAGES) == stages["total"] == 1100.0
    assert stages["turn_decision"] == 300.0 and stages["llm_first_token"] == 250.0
    assert stages["agent_share"] == 1100.0 - 500.0  # less ASR, LLM and TTS
    assert describe(stages).startswith("1100 ms: vad_stop 200")


def _write_call(path, call_id: str) -> None:
    """A call's events as the agent's sinks write them (through TurnEvents.emit)."""
    writer = TranscriptWriter(path, call_id)
    events = TurnEvents([file_sink(writer)])
    t0 = 1_800_000_000.0
    script = [
        ("agent_started", 0.2, {}),
        ("agent_stopped", 2.0, {"interrupted": False}),
        ("caller_started", 3.0, {"barge_in": False}),
        ("caller_stopped", 4.0, {}),
        (
            "turn_ask",
            4.2,
            {
                "probability": 0.3,
                "verdict": "incomplete",
                "reason": None,
                "hold_ms": 500.0,
                "decision_ms": 30.0,
            },
        ),
        ("caller_started", 4.5, {"barge_in": False}),
        ("caller_stopped", 5.5, {}),
        (
            "turn_ask",
            5.7,
            {
                "probability": 0.9,
                "verdict": "complete",
                "reason": None,
                "hold_ms": 0.0,
                "decision_ms": 30.0,
            },
        ),
        ("turn_end", 5.9, {}),
        ("agent_started", 6.6, {}),
        ("turn_latency", 6.6, {"stages_ms": stages_ms(_breakdown())}),
        ("caller_started", 7.0, {"barge_in": True}),
        ("agent_stopped", 7.2, {"interrupted": True}),
        ("caller_stopped", 7.5, {}),
        (
            "turn_ask",
            7.7,
            {
                "probability": None,
                "verdict": "fallback",
                "reason": "deadline",
                "hold_ms": 1000.0,
                "decision_ms": None,
            },
        ),
    ]
    for kind, at, fields in script:
        asyncio.run(events.emit(kind, t0 + at, fields))
    writer.turn("agent", "Hello, this is Acme.", "2027-01-15T08:00:00.200+00:00")
    writer.turn("caller", "My order number is 1234", "2027-01-15T08:00:03.000+00:00")


def test_turn_events_are_their_own_kind_and_the_timeline_shows_them(tmp_path) -> None:
    path = tmp_path / "transcripts.jsonl"
    _write_call(path, "MZ1")
    _write_call(path, "MZ2")
    lines = read_lines(path)
    roles = [line["role"] for line in lines if "role" in line]
    assert roles.count("caller") == 2 and roles.count("agent") == 2  # events are not turns
    assert all("text" not in line for line in lines if "kind" in line)  # no words to redact
    timeline = call_timeline(lines, "MZ1")
    assert len(timeline.caller_speech) == 3 and timeline.barge_ins
    assert [a.verdict for a in timeline.asks] == ["incomplete", "complete", "fallback"]
    assert timeline.agent_speech[-1][2] is True  # cut off by the barge-in
    counts = draw_timeline(timeline, tmp_path / "call.png")
    assert counts == {"caller_turns": 1, "turn_asks": 3, "agent_turns": 2, "answers_timed": 1}
    png = (tmp_path / "call.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) < 150_000
    drawn = draw_calls(path, tmp_path / "calls")  # bench calls --timeline: one per call
    assert [p.name for p in drawn] == ["MZ1.png", "MZ2.png"]


def test_the_timeline_command_draws_a_call_and_names_the_calls(tmp_path, capsys) -> None:
    path = tmp_path / "transcripts.jsonl"
    _write_call(path, "MZ7")
    assert main(["timeline", str(path)]) == 0
    assert capsys.readouterr().out.split() == ["MZ7"]
    out = tmp_path / "MZ7.png"
    assert main(["timeline", str(path), "--call", "MZ7", "-o", str(out)]) == 0
    assert "3 turn asks" in capsys.readouterr().out and out.read_bytes().startswith(b"\x89PNG")
    assert main(["timeline", str(path), "--call", "MZ8"]) == 1
    assert "no call MZ8" in capsys.readouterr().err
    assert main(["timeline", str(tmp_path / "none.jsonl")]) == 1
    assert json.loads(path.read_text().splitlines()[0])["kind"] == "agent_started"
