"""Replays caller audio through the agent's own "smart" stop strategy, frame by frame in audio
time: the strategy object the agent runs (pipeline/turn/stop_strategy.py), fed the Pipecat
frames the user aggregator would feed it.

In: a VadTrack (each 20 ms frame and the VAD event it caused), the strategy (built with
wait_for_transcript=False: the transcript wait is put on afterwards by transcript_wait.py, as
for the other modes), the transcripts the caller's words become (each fragment's text at the
audio time it arrives; None: none), and the model time of the answer just given. Out: a
Replay: every turn end with its audio time and the model time it waited for.

Order per frame, as in Pipecat 1.14's LLMUserAggregator: transcripts due by then, the
InputAudioRawFrame, then the VAD event the frame caused (VADUserStarted/StoppedSpeakingFrame;
a start outside a turn starts one: handle_user_turn_started). A turn end calls
handle_user_turn_stopped, as the aggregator does. The analyzer's clock is audio time.
"""

import time
from collections.abc import Callable

from pipecat.frames.frames import (
    InputAudioRawFrame,
    TranscriptionFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)

from pipeline.bench.turn_quality.replay import AudioClock, Decision, Replay, VadTrack, audio_time
from pipeline.bench.turn_quality.transcript_wait import Transcript
from pipeline.callers.line import PIPELINE_RATE
from pipeline.turn.stop_strategy import HoldingTurnStopStrategy


async def replay_holding(
    track: VadTrack,
    strategy: HoldingTurnStopStrategy,
    words: list[Transcript] | None = None,
    answer_ms: Callable[[], float] | None = None,
) -> Replay:
    """Turn ends where the strategy ends them. A turn ended at or just after a VAD stop waits
    for the model's answer: its decision carries what is left of the model time then."""
    strategy._turn_analyzer.set_sample_rate(PIPELINE_RATE)
    strategy._turn_analyzer.clear()
    result, clock = Replay([]), AudioClock()
    ended: list[float] = []
    strategy.add_event_handler("on_user_turn_stopped", lambda *_: ended.append(clock.now))
    pending = sorted(words or [], key=lambda t: t.at_s)
    in_turn, stop_at, model_s = False, 0.0, 0.0
    with audio_time(clock):
        for at, frame, event in track.frames:
            clock.now = at
            while pending and pending[0].at_s <= at:
                text = pending.pop(0).text
                if in_turn:  # words VAD never heard start no turn here (as in the other modes)
                    final = TranscriptionFrame(text, "", "", finalized=True)
                    await strategy.process_frame(final)
            await strategy.process_frame(InputAudioRawFrame(frame, PIPELINE_RATE, 1))
            if event == "start":
                if not in_turn:
                    await strategy.handle_user_turn_started()
                in_turn = True
                await strategy.process_frame(VADUserStartedSpeakingFrame(track.start_secs))
            elif event == "stop":
                started = time.perf_counter()
                await strategy.process_frame(VADUserStoppedSpeakingFrame(track.stop_secs))
                model_ms = (time.perf_counter() - started) * 1000
                model_ms = answer_ms() if answer_ms else model_ms
                result.model_ms.append(model_ms)
                result.fallbacks += strategy.probability is None
                stop_at, model_s = at, model_ms / 1000
            if ended:
                waited = max(0.0, stop_at + model_s - at) * 1000
                by = "model" if at == stop_at else "silence"
                result.decisions.append(Decision(at, waited, by))
                ended.clear()
                in_turn = False
                await strategy.handle_user_turn_stopped()
    return result
