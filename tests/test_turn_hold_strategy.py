"""The agent's "smart" stop strategy (pipeline/turn/stop_strategy.py): Smart Turn's probability
and the caller's last words set how long the turn is held after the VAD stop. Driven by real
Pipecat frames (the bench's audio-time replay feeds the strategy object the agent runs), the
real shared engine and model, and the agent's VAD on piper speech."""

import asyncio

import numpy as np
import pytest
from pipecat.frames.frames import InterimTranscriptionFrame

from pipeline.agent.vad import agent_vad
from pipeline.bench.turn_quality.replay import VadTrack, vad_track
from pipeline.bench.turn_quality.replay_holding import replay_holding
from pipeline.bench.turn_quality.transcript_wait import Transcript, transcripts
from pipeline.callers.telephone_audio import agent_frames
from pipeline.callers.utterance_audio import line_noise, render_utterance
from pipeline.settings import AgentSettings, TurnPolicySettings, TurnSettings
from pipeline.turn.analyzer import SharedSmartTurnAnalyzer
from pipeline.turn.hold import hold_s, last_word
from pipeline.turn.stop_strategy import HoldingTurnStopStrategy

POLICY = TurnPolicySettings()
OPEN = ["My order number is", "four five six"]


def test_the_hold_follows_the_probability_and_the_last_word() -> None:
    policy = TurnPolicySettings(
        end_probability=0.8, min_hold_s=0.2, max_hold_s=1.0, open_hold_s=2.0, digit_hold_s=0.6
    )
    assert hold_s(policy, 0.95) == hold_s(policy, 0.8) == 0.0
    assert hold_s(policy, 0.0) == hold_s(policy, None) == pytest.approx(1.0)  # no answer: longest
    assert hold_s(policy, 0.4) == pytest.approx(0.6)  # halfway below end_probability
    assert hold_s(policy, 0.95, "I need to change the address and") == 2.0
    assert hold_s(policy, 0.95, "My order number is") == 2.0
    assert hold_s(policy, 0.95, "Yes, it is.") == hold_s(policy, 0.95, "I am") == 0.0
    assert hold_s(policy, 0.95, "My number is five five five.") == 0.6
    assert hold_s(policy, 0.0, "five") == pytest.approx(1.0)  # words only lengthen it
    assert hold_s(policy.model_copy(update={"patience": 0.5}), 0.0, "um") == 1.0
    assert hold_s(policy.model_copy(update={"end_hold_s": 0.3}), 0.95) == 0.3  # the least hold
    assert last_word("Is it, um...") == "um" and last_word("") == ""


def _track(fragments: list[str], pauses_ms: list[int]) -> tuple[VadTrack, list]:
    rendered = render_utterance(fragments, pauses_ms, seed=5)
    audio = np.concatenate([rendered.audio, line_noise(int(4.5 * 16000), 6, 16000)])
    warm = asyncio.run(agent_frames(line_noise(16000, 7, 16000), 16000))
    frames = asyncio.run(agent_frames(audio, 16000))
    return vad_track(frames, 0.2, agent_vad(AgentSettings()), warm), rendered.speech_spans


def _strategy(policy: TurnPolicySettings = POLICY) -> HoldingTurnStopStrategy:
    analyzer = SharedSmartTurnAnalyzer(settings=TurnSettings(device="cpu"))
    return HoldingTurnStopStrategy(turn_analyzer=analyzer, policy=policy, wait_for_transcript=False)


def test_an_open_sentence_is_held_across_its_pause_and_ends_after_the_last_word() -> None:
    track, spans = _track(OPEN, [1500])
    words = transcripts(tuple(OPEN), spans, 0.0)
    replay = asyncio.run(replay_holding(track, _strategy(), words))
    [decision] = replay.decisions  # the 1.5 s pause after "is" is not cut
    assert decision.at_s > spans[-1][1]
    assert len(replay.model_ms) == 2 and replay.fallbacks == 0  # asked once per VAD stop


def test_without_the_words_the_same_pause_is_decided_by_the_model_alone() -> None:
    track, spans = _track(OPEN, [1500])
    strategy = _strategy(POLICY.model_copy(update={"open_words": []}))
    replay = asyncio.run(replay_holding(track, strategy, None))
    first = replay.decisions[0]
    p = strategy.probability  # the last answer: at the end of the utterance
    assert p is not None and 0.0 <= p <= 1.0
    # whatever the model said at the pause, the turn ended no later than its longest hold
    assert first.at_s <= spans[0][1] + 0.2 + 0.05 + POLICY.max_hold_s + 0.05


def test_a_complete_answer_ends_at_the_vad_stop_when_the_model_is_sure() -> None:
    track, spans = _track(["I would like to cancel my order, please."], [])
    strategy = _strategy(POLICY.model_copy(update={"end_probability": 0.0}))
    [decision] = asyncio.run(replay_holding(track, strategy)).decisions
    stop = next(at for at, _frame, event in track.frames if event == "stop")
    assert decision.at_s == stop and decision.by == "model"
    assert decision.at_s - spans[-1][1] < 0.35  # VAD's 0.2 s stop and its lag


def test_words_that_arrive_during_the_hold_lengthen_it() -> None:
    """Transcripts come after the VAD stop (an STT 300 ms behind): an open last word arriving
    while the turn is held keeps it open for open_hold_s from the stop."""
    track, spans = _track(["I ordered a blue jacket and"], [])
    policy = POLICY.model_copy(
        update={"end_probability": 1.0, "min_hold_s": 0.5, "max_hold_s": 0.5}
    )
    late = [Transcript(spans[0][1] + 0.3, "I ordered a blue jacket and")]
    [decision] = asyncio.run(replay_holding(track, _strategy(policy), late)).decisions
    stop = next(at for at, _frame, event in track.frames if event == "stop")
    assert decision.at_s == pytest.approx(stop + policy.open_hold_s, abs=0.021)
    [early] = asyncio.run(replay_holding(track, _strategy(policy), [])).decisions
    assert early.at_s == pytest.approx(stop + 0.5, abs=0.021)  # no words: the model's hold


def test_interim_transcripts_are_read_too() -> None:
    strategy = _strategy()
    asyncio.run(strategy.process_frame(InterimTranscriptionFrame("the number is", "", "")))
    assert strategy._words == "the number is"
