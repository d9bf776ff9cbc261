"""Replays caller audio through Pipecat's own end-of-turn parts, frame by frame in audio time.

In: the 20 ms frames at 16 kHz that the agent's input transport delivers and the agent's VAD
stop_secs (-> a VadTrack, computed once), then a mode: "vad" with its speech timeout, or
"smart" with a turn analyzer. Out: every end-of-turn decision, with the audio time it was
taken at and the model time it took.

What decides the end of a turn in a live pipeline (Pipecat 1.14's LLMUserAggregator):
- Silero VAD (the agent's, `pipeline.agent.vad.agent_vad`: agent.vad_*) sees each frame
  first; a SPEAKING/QUIET transition becomes a VADUserStarted/StoppedSpeakingFrame that the
  aggregator queues, so the stop strategy gets it after the frame itself.
- smart (`TurnAnalyzerUserTurnStopStrategy`): every frame goes to the analyzer's
  `append_audio(frame, is_speech=VAD speaking)`; at a VAD stop the model is asked
  (`analyze_end_of_turn`) and COMPLETE ends the turn; otherwise `append_audio` ends it after
  `SmartTurnParams.stop_secs` of silence.
- vad (`SpeechTimeoutUserTurnStopStrategy`, what agent.turn_mode=vad runs, with Pipecat's
  default `user_speech_timeout` unless another is given): the turn ends that long after a VAD
  stop unless VAD hears speech again first.
Both strategies then also wait for the STT transcript (wait_for_transcript=True): that wait is
left out here and put on afterwards by transcript_wait.py.
Nothing here reads the wall clock except to time the model; BaseSmartTurn's buffer timestamps
(time.monotonic) are read from the audio clock while a replay runs.
"""

import contextlib
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from pipecat.audio.turn.base_turn_analyzer import BaseTurnAnalyzer, EndOfTurnState
from pipecat.audio.turn.smart_turn import base_smart_turn
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState
from pipecat.turns.user_stop.speech_timeout_user_turn_stop_strategy import (
    SpeechTimeoutUserTurnStopStrategy,
)

from pipeline.callers.line import PACKET_S, PIPELINE_RATE

# Pipecat's default silence after a VAD stop, as agent.turn_mode=vad builds the strategy.
VAD_ONLY_TIMEOUT_S: float = SpeechTimeoutUserTurnStopStrategy()._user_speech_timeout


@dataclass(frozen=True)
class Decision:
    at_s: float  # audio time (end of the frame) at which the turn was ended
    model_ms: float  # wall time the turn model took for this decision (0 without a model)
    by: Literal["model", "silence", "speech_timeout"]


@dataclass
class Replay:
    decisions: list[Decision]
    model_ms: list[float] = field(default_factory=list)  # every answer's time, in order
    fallbacks: int = 0  # questions the engine did not answer (overloaded, deadline, error)


class AudioClock:
    """Stands in for the `time` module inside BaseSmartTurn: monotonic() is audio time."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def perf_counter(self) -> float:
        return time.perf_counter()


@contextlib.contextmanager
def audio_time(clock: AudioClock) -> Iterator[None]:
    real = base_smart_turn.time
    base_smart_turn.time = types.SimpleNamespace(
        monotonic=clock.monotonic, perf_counter=clock.perf_counter
    )
    try:
        yield
    finally:
        base_smart_turn.time = real


@dataclass(frozen=True)
class VadTrack:
    """Each frame with its audio time and the VAD event it caused ("start", "stop" or "")."""

    frames: list[tuple[float, bytes, str]]
    start_secs: float  # the VAD's start_secs, which the analyzer pads its segment with
    stop_secs: float = 0.2  # the VAD's stop_secs, which its stop frames carry


def vad_track(
    frames: list[bytes],
    stop_secs: float,
    vad: VADAnalyzer | None = None,
    warm: list[bytes] | None = None,
) -> VadTrack:
    """Silero VAD over the frames, transitions reported as VADController reports them.
    `vad`: the analyzer to run (the agent's, pipeline/agent/vad.py); by default stock
    Pipecat's with stop_secs and Pipecat's other defaults. `warm`: line audio the VAD hears
    first, unrecorded, as in a call already under way (its volume gate reads 0 until it has
    heard 0.4 s)."""
    vad = vad or SileroVADAnalyzer(params=VADParams(stop_secs=stop_secs))
    vad.set_sample_rate(PIPELINE_RATE)
    for frame in warm or []:
        vad._run_analyzer(frame)
    state, track = VADState.QUIET, []
    for i, frame in enumerate(frames):
        new = vad._run_analyzer(frame)  # what analyze_audio runs on its executor thread
        event = ""
        if new != state and new in (VADState.SPEAKING, VADState.QUIET):
            event, state = ("start" if new == VADState.SPEAKING else "stop"), new
        track.append(((i + 1) * PACKET_S, frame, event))
    vad._executor.shutdown(wait=False)
    return VadTrack(track, vad.params.start_secs, vad.params.stop_secs)


def replay_vad_only(track: VadTrack, timeout_s: float = VAD_ONLY_TIMEOUT_S) -> Replay:
    """Turn ends timeout_s after a VAD stop unless VAD hears speech first."""
    decisions: list[Decision] = []
    pending: float | None = None  # when the running speech timeout fires
    for at, _frame, event in track.frames:
        if pending is not None and pending <= at:
            decisions.append(Decision(pending, 0.0, "speech_timeout"))
            pending = None
        if event == "start":
            pending = None
        elif event == "stop":
            pending = at + timeout_s
    if pending is not None:
        decisions.append(Decision(pending, 0.0, "speech_timeout"))
    return Replay(decisions)


async def replay_smart(
    track: VadTrack, analyzer: BaseTurnAnalyzer, answer_ms: Callable[[], float] | None = None
) -> Replay:
    """Turn ends when the model says COMPLETE at a VAD stop, or after the analyzer's
    stop_secs of silence. answer_ms: the model time of the answer just given (an engine that
    replays answers it already gave reports the time they first took); by default the wall
    time of the question."""
    analyzer.set_sample_rate(PIPELINE_RATE)
    analyzer.clear()
    result = Replay([])
    speaking = False
    clock = AudioClock()
    with audio_time(clock):
        for at, frame, event in track.frames:
            clock.now = at
            if analyzer.append_audio(frame, speaking) == EndOfTurnState.COMPLETE:
                await analyzer.analyze_end_of_turn()  # as the strategy does: empty, no model
                result.decisions.append(Decision(at, 0.0, "silence"))
            if event == "start":
                analyzer.update_vad_start_secs(track.start_secs)
                speaking = True
            elif event == "stop":
                speaking = False
                started = time.perf_counter()
                state, metrics = await analyzer.analyze_end_of_turn()
                model_ms = (time.perf_counter() - started) * 1000
                model_ms = answer_ms() if answer_ms else model_ms
                result.model_ms.append(model_ms)
                result.fallbacks += metrics is None
                if state == EndOfTurnState.COMPLETE:
                    result.decisions.append(Decision(at, model_ms, "model"))
    return result
