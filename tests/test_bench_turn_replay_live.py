"""The audio-time replay against a live Pipecat pipeline: the same caller audio, paced at real
time through Pipecat's own LLMUserAggregator (Silero VAD + the stop strategy), must end the
caller's turns when the replay says it does."""

import asyncio
import time
from collections.abc import Iterator

import numpy as np
import pytest
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADParams
from pipecat.frames.frames import Frame, InputAudioRawFrame
from pipecat.pipeline.worker import PipelineParams
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.aggregators.llm_response_universal import (
    LLMContextAggregatorPair,
    LLMUserAggregatorParams,
)
from pipecat.tests.utils import SleepFrame, run_test
from pipecat.turns.user_stop import (
    SpeechTimeoutUserTurnStopStrategy,
    TurnAnalyzerUserTurnStopStrategy,
)
from pipecat.turns.user_turn_strategies import UserTurnStrategies

from pipeline.bench.turn_quality.replay import replay_smart, replay_vad_only, vad_track
from pipeline.bench.turn_quality.replay_holding import replay_holding
from pipeline.callers.line import PACKET_S, PIPELINE_RATE
from pipeline.callers.telephone_audio import agent_frames
from pipeline.callers.utterance_audio import line_noise, render_utterance
from pipeline.settings import TurnSettings
from pipeline.turn.analyzer import SharedSmartTurnAnalyzer
from pipeline.turn.stop_strategy import HoldingTurnStopStrategy

pytestmark = pytest.mark.slow
STOP_SECS = 0.2
FRAGMENTS, PAUSES = ["My order number is", "four five six"], [1500]


class _PacedFrames:
    """The frames to send at real-time pace (each due 20 ms after the one before, on an absolute
    schedule so sleeps do not drift), noting when each was sent."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames, self.sent_at = frames, []

    def __iter__(self) -> Iterator[Frame]:
        start = time.monotonic()
        for i, pcm in enumerate(self.frames):
            self.sent_at.append(time.monotonic())
            yield InputAudioRawFrame(audio=pcm, sample_rate=PIPELINE_RATE, num_channels=1)
            yield SleepFrame(sleep=max(0.0, start + (i + 1) * PACKET_S - time.monotonic()))

    def audio_time(self, wall: float) -> float:
        """Audio time (end of the last frame sent) at a wall-clock moment."""
        return int(np.searchsorted(self.sent_at, wall, side="right")) * PACKET_S


async def _live_turn_ends(frames: list[bytes], stop_strategy) -> list[float]:
    vad = SileroVADAnalyzer(params=VADParams(stop_secs=STOP_SECS))
    params = LLMUserAggregatorParams(
        vad_analyzer=vad, user_turn_strategies=UserTurnStrategies(stop=[stop_strategy])
    )
    user = LLMContextAggregatorPair(LLMContext(), user_params=params).user()
    ended: list[float] = []

    @user.event_handler("on_user_turn_stopped")
    async def _stopped(_aggregator: object, _strategy: object, _message: object) -> None:
        ended.append(time.monotonic())

    paced = _PacedFrames(frames)
    await run_test(
        user,
        frames_to_send=paced,
        pipeline_params=PipelineParams(audio_in_sample_rate=PIPELINE_RATE),
    )
    return [paced.audio_time(wall) for wall in ended]


def _frames() -> list[bytes]:
    rendered = render_utterance(FRAGMENTS, PAUSES, seed=7)
    audio = np.concatenate([rendered.audio, line_noise(int(4.5 * PIPELINE_RATE), 8, PIPELINE_RATE)])
    return asyncio.run(agent_frames(audio, PIPELINE_RATE))


def test_vad_only_live_ends_turns_where_the_replay_does() -> None:
    frames = _frames()
    replayed = [d.at_s for d in replay_vad_only(vad_track(frames, STOP_SECS)).decisions]
    live = asyncio.run(
        _live_turn_ends(frames, SpeechTimeoutUserTurnStopStrategy(wait_for_transcript=False))
    )
    assert len(replayed) == 2  # the 1.5 s pause is cut, then the real end
    assert len(live) == len(replayed)
    for live_at, replay_at in zip(live, replayed, strict=True):
        assert -0.05 <= live_at - replay_at < 0.15  # a frame either way, event-loop slack


def test_smart_turn_live_ends_turns_where_the_replay_does() -> None:
    frames = _frames()
    turn = TurnSettings(device="cpu")
    replay = asyncio.run(
        replay_smart(vad_track(frames, STOP_SECS), SharedSmartTurnAnalyzer(settings=turn))
    )
    analyzer = SharedSmartTurnAnalyzer(settings=turn)
    strategy = TurnAnalyzerUserTurnStopStrategy(turn_analyzer=analyzer, wait_for_transcript=False)
    live = asyncio.run(_live_turn_ends(frames, strategy))
    assert len(live) == len(replay.decisions) >= 1
    for live_at, decision in zip(live, replay.decisions, strict=True):
        # the live turn ends once the model has answered: later by about the model's time
        assert -0.05 <= live_at - decision.at_s < 0.15 + 2 * decision.model_ms / 1000 + 0.5


def test_the_agents_holding_strategy_live_ends_turns_where_the_replay_does() -> None:
    """The shipped policy (agent.turn_mode smart): the replay feeds the same strategy class the
    frames the aggregator feeds it, and counts its holds in audio as it does live."""
    frames = _frames()
    turn = TurnSettings(device="cpu")

    def strategy() -> HoldingTurnStopStrategy:
        analyzer = SharedSmartTurnAnalyzer(settings=turn)
        return HoldingTurnStopStrategy(turn_analyzer=analyzer, wait_for_transcript=False)

    replay = asyncio.run(replay_holding(vad_track(frames, STOP_SECS), strategy()))
    live = asyncio.run(_live_turn_ends(frames, strategy()))
    assert len(live) == len(replay.decisions) >= 1
    for live_at, decision in zip(live, replay.decisions, strict=True):
        assert -0.05 <= live_at - decision.at_s < 0.15 + 2 * decision.model_ms / 1000 + 0.5
