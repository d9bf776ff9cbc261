"""Turn quality: scenario utterances replayed in audio time through Silero VAD and Pipecat's
end-of-turn logic, Smart Turn (the shared engine, real model) against VAD-only."""

import asyncio
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bench_command import run_bench, tiny_scenario
from pipecat.audio.turn.smart_turn import base_smart_turn

from pipeline.bench.turn_quality.replay import (
    VAD_ONLY_TIMEOUT_S,
    Decision,
    Replay,
    replay_smart,
    replay_vad_only,
    vad_track,
)
from pipeline.bench.turn_quality.score import Case, score, summarize
from pipeline.bench.turn_quality.tradeoff import END_HOLDS_S, VAD_TIMEOUTS_S
from pipeline.callers.telephone_audio import agent_frames
from pipeline.callers.utterance_audio import line_noise, render_utterance
from pipeline.settings import TurnSettings
from pipeline.turn.analyzer import SharedSmartTurnAnalyzer

VAD_STOP_SECS = 0.2  # the agent's default (agent.vad_stop_secs)
HESITANT = ["I was wondering if", "maybe you could change the delivery address"]


def _replays(fragments: list[str], pauses_ms: list[int], rate: int = 16000):
    rendered = render_utterance(fragments, pauses_ms, seed=5, rate=rate)
    audio = np.concatenate([rendered.audio, line_noise(int(4.5 * rate), 6, rate)])
    track = vad_track(asyncio.run(agent_frames(audio, rate)), VAD_STOP_SECS)
    analyzer = SharedSmartTurnAnalyzer(settings=TurnSettings(device="cpu"))
    smart = asyncio.run(replay_smart(track, analyzer))
    return rendered.speech_spans, replay_vad_only(track), smart


@pytest.mark.parametrize("rate", [16000, 8000])
def test_vad_only_cuts_a_long_mid_utterance_pause(rate: int) -> None:
    spans, vad, smart = _replays(HESITANT, [2000], rate)
    (_, end0), (start1, end1) = spans
    first = vad.decisions[0]
    assert end0 < first.at_s < start1  # the agent would take the turn inside the pause
    # ... once VAD's stop_secs and Pipecat's speech timeout have passed (plus VAD's own lag)
    lag = first.at_s - end0 - VAD_STOP_SECS - VAD_ONLY_TIMEOUT_S
    assert -0.1 < lag < 0.3  # VAD may call the faded end of a word silence already
    case = Case("t", tuple(HESITANT), (2000,), 5)
    assert score(case, vad, spans).pauses == [(2000, True)]
    # Smart Turn hears "I was wondering if" as unfinished and holds the turn.
    assert all(d.at_s >= end1 for d in smart.decisions)
    assert score(case, smart, spans).pauses == [(2000, False)]
    assert len(smart.model_ms) >= 2 and smart.fallbacks == 0


def test_vad_only_holds_a_short_pause_and_ends_after_its_timeout() -> None:
    spans, vad, _ = _replays(HESITANT, [300])
    [decision] = vad.decisions
    latency = decision.at_s - spans[-1][1]
    assert -0.1 < latency - VAD_STOP_SECS - VAD_ONLY_TIMEOUT_S < 0.3


def test_smart_turn_ends_a_short_complete_answer_sooner_in_audio_time() -> None:
    spans, vad, smart = _replays(["that is right"], [])
    end = spans[-1][1]
    [decision] = smart.decisions
    assert decision.by == "model" and decision.model_ms > 0
    assert decision.at_s - end < VAD_STOP_SECS + 0.3  # asked at the VAD stop, said complete
    assert vad.decisions[0].at_s - decision.at_s == pytest.approx(VAD_ONLY_TIMEOUT_S, abs=0.05)
    assert base_smart_turn.time.__name__ == "time"  # the real clock is back after a replay


def test_smart_turn_falls_back_to_its_silence_timeout_when_the_model_says_incomplete() -> None:
    spans, _, smart = _replays(HESITANT, [300])
    [decision] = smart.decisions
    assert decision.by == "silence"
    # SmartTurnParams.stop_secs (3 s) of silence counted from the VAD stop
    assert -0.1 < decision.at_s - spans[-1][1] - 3.0 - VAD_STOP_SECS < 0.3


def test_score_attributes_each_decision_to_its_pause() -> None:
    spans = [(0.3, 1.0), (2.0, 3.0), (4.0, 5.0)]
    case = Case("t", ("a", "b", "c"), (1000, 1000), 1)
    decisions = [Decision(0.5, 0.0, "model"), Decision(1.8, 0.0, "model")]
    decisions += [Decision(2.1, 0.0, "model"), Decision(5.2, 150.0, "model")]
    scored = score(case, Replay(decisions), spans)
    assert scored.early_cuts == 1  # 0.5 s: inside the first fragment
    assert scored.pauses == [(1000, True), (1000, False)]  # 1.8 and 2.1 both cut pause one
    assert scored.latency_s == pytest.approx(0.2 + 0.15)  # audio time plus model time
    missed = score(case, Replay([Decision(1.5, 0.0, "silence")]), spans)
    assert missed.latency_s is None
    summary = summarize([(case, scored, Replay(decisions)), (case, missed, Replay([]))])
    assert (summary["pauses"], summary["pauses_cut"], summary["missed"]) == (4, 2, 1)
    assert summary["false_interruption_rate"] == 0.5
    assert summary["cut_rate_by_pause_ms"] == {"1000": {"pauses": 4, "cut": 2}}
    assert summary["held_past_s"] == {"1.5": 0}  # the one heard ended 0.35 s after


def test_phone_line_audio_is_band_limited_at_the_pipeline_rate() -> None:
    wide = render_utterance(["four five six"], [], seed=3, rate=16000)
    phone = render_utterance(["four five six"], [], seed=3, rate=8000)
    frames = asyncio.run(agent_frames(np.asarray(phone.audio), 8000))
    assert len(frames) == len(phone.audio) // 160  # one frame per 20 ms packet
    heard = np.frombuffer(b"".join(frames), dtype=np.int16).astype(np.float64)
    assert abs(len(heard) - 2 * len(phone.audio)) < 0.15 * 16000  # minus the filter delay

    def above_4k(audio: np.ndarray) -> float:
        spectrum = np.abs(np.fft.rfft(audio)) ** 2
        return spectrum[len(spectrum) // 2 :].sum() / spectrum.sum()

    assert above_4k(heard) < 0.01 < above_4k(wide.audio.astype(np.float64))


@pytest.mark.slow
def test_command_writes_rates_latencies_and_the_claim(tmp_path: Path) -> None:
    scenario = tiny_scenario(tmp_path, [(HESITANT, [2000]), (("that is right",), [])])
    args = ["--scenario", str(scenario), "--sweep-ms", "300"]
    stdout, result = run_bench("turn-quality", args, tmp_path, timeout_s=400)
    assert "published claim" in stdout
    assert result["vad_only_timeout_s"] == VAD_ONLY_TIMEOUT_S
    for rate in ("16000", "8000"):
        vad, smart = result["results"][rate]["vad"], result["results"][rate]["smart"]
        assert vad["utterances"] == smart["utterances"] == 3  # scripted, swept to 300, short
        assert vad["pauses"] == 2 and vad["pauses_cut"] == 1  # the 2 s pause, not the 300 ms
        assert vad["cut_rate_by_pause_ms"] == {
            "300": {"pauses": 1, "cut": 0},
            "2000": {"pauses": 1, "cut": 1},
        }
        assert smart["short_latency_ms"]["n"] == 1 and smart["model_calls"] >= 3
        # the transcript wait (1 s p99) neither rescues the 2 s pause nor ends turns sooner
        vad_stt = result["results"][rate]["vad_stt"]
        assert vad_stt["pauses_cut"] == 1
        assert vad_stt["latency_ms"]["p50"] > vad["latency_ms"]["p50"]
        assert {rate, f"{rate}_stt"} <= set(result["published_claim"])
        # the shipped policy (the holding strategy) swept over its least hold; stock Smart Turn
        # under its own name, asked as often (once per VAD stop)
        stock = result["results"][rate]["stock"]
        assert stock["model_calls"] == smart["model_calls"] and stock["missed"] == smart["missed"]
        curves = result["tradeoff"][rate]
        assert [p["knob"] for p in curves["smart"]] == list(END_HOLDS_S)
        assert set(curves) == {"smart", "stock", "vad", "smart_stt", "stock_stt", "vad_stt"}
        assert [p["knob"] for p in curves["vad"]] == list(VAD_TIMEOUTS_S)
        shipped = next(p for p in curves["vad"] if p["knob"] == VAD_ONLY_TIMEOUT_S)
        assert shipped["cut_rate"] == vad["false_interruption_rate"]
        assert shipped["latency_p50_ms"] == vad["latency_ms"]["p50"]
        latency = [p["latency_p50_ms"] for p in curves["vad"]]
        assert latency == sorted(latency) and latency[-1] - latency[0] > 1500  # 0.4 -> 2.0 s
    assert result["tradeoff_knobs"]["vad"] == "user_speech_timeout_s"
    assert result["tradeoff_knobs"]["smart"] == "end_hold_s"
    assert len(result["utterances"]) == 2 * 6 * 3  # rates x modes x utterances


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--scenario", "nope"], "no scenario 'nope'"),
        (["--sweep-ms", "300,soon"], "--sweep-ms takes pause lengths"),
        (["--scenario", "BAD_FILE"], "seed: Input should be a valid integer"),
        (["--scenario", "NO_LABELS"], "labels.yaml: cannot read labels"),
        (["--stt-delay-ms", "-5"], "--stt-delay-ms must be 0 or more"),
    ],
)
def test_bad_arguments_are_named(tmp_path: Path, args: list[str], named: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nseed: soon\nanswer_within_s: 5\nsteps: [{silence_ms: 10}]\n")
    files = {"BAD_FILE": str(bad), "NO_LABELS": str(tmp_path)}
    args = [files.get(a, a) for a in args]
    command = [sys.executable, "-m", "pipeline.cli", "bench", "turn-quality", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert named in done.stderr and "Traceback" not in done.stderr


def test_transcript_wait_delays_the_end_and_lets_resumed_speech_cancel_it() -> None:
    from pipeline.bench.turn_quality.replay import VadTrack
    from pipeline.bench.turn_quality.transcript_wait import wait_for_transcript

    events = {1.0: "stop", 1.5: "start", 3.0: "stop"}  # a pause from 1.0 to 1.5 s, VAD times
    track = VadTrack([(t / 50, b"", events.get(t / 50, "")) for t in range(1, 300)], 0.2)
    decisions = [Decision(1.0, 100.0, "model"), Decision(3.0, 100.0, "model")]
    waited = wait_for_transcript(Replay(decisions, [100.0, 100.0]), track, 1.0, 0.2)
    # the first end would fall at 1.8 s, but the caller spoke again at 1.5 s: discarded;
    # the second waits for the transcript's p99 after the speech ended (3.0 - 0.2 + 1.0)
    assert [(d.at_s, d.model_ms) for d in waited.decisions] == [(pytest.approx(3.8), 0.0)]
    assert waited.model_ms == [100.0, 100.0]
    slow_model = wait_for_transcript(Replay([Decision(3.0, 1500.0, "model")]), track, 1.0, 0.2)
    assert slow_model.decisions[0].at_s == pytest.approx(4.5)  # the model is the later one
    vad_only = [Decision(3.0 + VAD_ONLY_TIMEOUT_S, 0.0, "speech_timeout")]
    waited = wait_for_transcript(Replay(vad_only), track, 1.0, 0.2)
    assert waited.decisions[0].at_s == pytest.approx(3.8)  # timer from the VAD stop at 3.0
    silence = wait_for_transcript(Replay([Decision(6.2, 0.0, "silence")]), track, 1.0, 0.2)
    assert silence.decisions[0].at_s == 6.2  # long past the transcript timer: not delayed
