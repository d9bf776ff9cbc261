"""The agent's user-turn stop strategy (agent.turn_mode "smart"): Smart Turn's probability and
the caller's last words set how long the turn is held open, instead of a yes/no at 0.5 and a
fixed 3 s silence timeout.

In (Pipecat frames, through the user aggregator, as for TurnAnalyzerUserTurnStopStrategy):
the caller's audio, VAD start/stop, interim and final transcripts. Out: on_user_turn_stopped.

It is Pipecat's TurnAnalyzerUserTurnStopStrategy with one change: at each VAD stop the
analyzer is asked once (as stock does), and its probability, with the transcript's last word,
gives a hold (hold.py, the settings' turn_policy); the turn counts as complete once the
caller has been silent that long after the stop, counted in audio (the input frames' length,
so the decision follows the caller's audio, not the event loop). Speech again discards it;
a transcript that arrives during the hold re-reads the last word. The analyzer's own silence
timeout (SmartTurnParams.stop_secs) still ends any turn, the bound on every hold. The
transcript wait that follows (wait_for_transcript) is Pipecat's, unchanged.

Each ask is also reported: the event on_turn_ask(strategy, TurnAsk) carries the probability,
the model's verdict (or the fallback and why) and the hold it set (pipeline/agent/turn_events.py
writes it down and shows it on the console).
"""

import time
from dataclasses import dataclass

from pipecat.audio.turn.base_turn_analyzer import BaseTurnAnalyzer, EndOfTurnState
from pipecat.frames.frames import (
    Frame,
    InputAudioRawFrame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import TurnMetricsData
from pipecat.turns.types import ProcessFrameResult
from pipecat.turns.user_stop import TurnAnalyzerUserTurnStopStrategy

from pipeline.settings import TurnPolicySettings
from pipeline.turn.hold import hold_s

_EPSILON_S = 1e-6  # 20 ms frames summed in floats: 40 of them must make 0.8 s


@dataclass(frozen=True)
class TurnAsk:
    """One question to the turn analyzer at a VAD stop and what the policy made of it."""

    probability: float | None  # Smart Turn's answer; None: no answer (fallback)
    verdict: str  # "complete" | "incomplete" (the model's, at 0.5) | "fallback"
    reason: str | None  # fallback: overloaded, deadline, error, no_audio
    hold_ms: float  # how long the policy holds the turn open after this stop
    decision_ms: float | None  # the analyzer's time to answer (Pipecat's TurnMetricsData)


class HoldingTurnStopStrategy(TurnAnalyzerUserTurnStopStrategy):
    """TurnAnalyzerUserTurnStopStrategy whose model answer sets a hold, not a verdict."""

    def __init__(
        self,
        *,
        turn_analyzer: BaseTurnAnalyzer,
        policy: TurnPolicySettings | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(turn_analyzer=turn_analyzer, **kwargs)
        self._policy = policy or TurnPolicySettings()
        self._probability: float | None = None  # the model's answer at the last VAD stop
        self._words = ""  # the caller's latest transcript, interim or final
        self._holding = False  # after a VAD stop, until the hold has passed
        self._silence_s = 0.0  # audio since the VAD stop
        self._register_event_handler("on_turn_ask", sync=True)

    @property
    def probability(self) -> float | None:
        """Smart Turn's answer at the last VAD stop (None: no answer)."""
        return self._probability

    async def _reset(self) -> None:
        await super()._reset()
        self._words = ""

    async def _discard_pending_end_of_turn(self) -> None:
        await super()._discard_pending_end_of_turn()
        self._holding = False
        self._silence_s = 0.0

    async def process_frame(self, frame: Frame) -> ProcessFrameResult:
        if isinstance(frame, (TranscriptionFrame, InterimTranscriptionFrame)):
            self._read_words(frame.text)
        return await super().process_frame(frame)

    def _read_words(self, text: str) -> None:
        """New words during the silence after a stop: they may lengthen the hold again."""
        self._words = text
        after_stop = self._vad_stopped and not self._vad_user_speaking
        if after_stop and hold_s(self._policy, self._probability, text) > self._silence_s:
            self._holding, self._turn_complete = True, False

    async def _handle_vad_user_stopped_speaking(self, frame: VADUserStoppedSpeakingFrame) -> None:
        self._vad_user_speaking = False
        self._stop_secs = frame.stop_secs
        self._vad_stopped = True
        state, prediction = await self._turn_analyzer.analyze_end_of_turn()
        await self._handle_prediction_result(prediction)
        self._probability = _probability(state, prediction)
        await self._call_event_handler("on_turn_ask", self._ask(prediction))
        self._turn_complete, self._holding, self._silence_s = False, True, 0.0
        if self._wait_for_transcript:  # Pipecat's STT safety net, from when the speech ended
            deadline = frame.timestamp - frame.stop_secs + self._stt_timeout
            self._timeout_task = self.task_manager.create_task(
                self._timeout_handler(max(0.0, deadline - time.time())),
                f"{self}::_timeout_handler",
            )
        await self._end_hold_if_passed()

    def _ask(self, prediction: object) -> TurnAsk:
        """The ask just answered, as on_turn_ask reports it."""
        hold = hold_s(self._policy, self._probability, self._words) * 1000
        if isinstance(prediction, TurnMetricsData):
            verdict = "complete" if prediction.is_complete else "incomplete"
            return TurnAsk(
                prediction.probability, verdict, None, hold, prediction.e2e_processing_time_ms
            )
        fallback = getattr(self._turn_analyzer, "last_fallback", None)
        if fallback is None and self._probability is not None:  # a verdict, no probability
            verdict = "complete" if self._probability else "incomplete"
            return TurnAsk(self._probability, verdict, None, hold, None)
        return TurnAsk(None, "fallback", fallback or "no_audio", hold, None)

    async def _handle_input_audio(self, frame: InputAudioRawFrame) -> None:
        await super()._handle_input_audio(frame)  # the analyzer's buffer and silence timeout
        if self._holding and not self._vad_user_speaking:
            self._silence_s += frame.num_frames / frame.sample_rate
            await self._end_hold_if_passed()

    async def _end_hold_if_passed(self) -> None:
        hold = hold_s(self._policy, self._probability, self._words)
        if self._holding and self._silence_s >= hold - _EPSILON_S:
            self._holding, self._turn_complete = False, True
            await self._maybe_trigger_user_turn_stopped()


def _probability(state: EndOfTurnState, prediction: object) -> float | None:
    """The model's probability; an analyzer that reports none counts its verdict as 0 or 1,
    and no answer at all (the engine's fallback) as None."""
    if isinstance(prediction, TurnMetricsData) and prediction.probability is not None:
        return prediction.probability
    if state == EndOfTurnState.COMPLETE:
        return 1.0
    return None if prediction is None else 0.0
