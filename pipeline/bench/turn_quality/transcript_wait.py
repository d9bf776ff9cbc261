"""The transcript wait that follows an end-of-turn decision in a live pipeline, put on a replay.

In: a replay's decisions, its VadTrack, the STT's p99 (`ttfs_p99_latency`, 1.0 s in the agent)
and VAD stop_secs. Out: the decisions that still end the turn when the final transcript comes
only by the p99 safety net (the slowest case), each moved to when the turn really ends.

Both Pipecat stop strategies (wait_for_transcript=True, the agent's) end the turn only once a
transcript is in hand: a finalized one, or when the STT timer runs out, p99 after the speech
ended (the VAD stop less stop_secs). Speech that VAD hears before then discards the pending
end. A turn that Smart Turn's silence timeout ends comes long after that timer: not delayed.
With a transcript finalized at once the replay's own decisions stand: the two are the bounds.
"""

from pipeline.bench.turn_quality.replay import VAD_ONLY_TIMEOUT_S, Decision, Replay, VadTrack


def wait_for_transcript(
    replay: Replay, track: VadTrack, stt_p99_s: float, stop_secs: float
) -> Replay:
    starts = [at for at, _frame, event in track.frames if event == "start"]
    kept = []
    for decision in replay.decisions:
        stop = decision.at_s - (VAD_ONLY_TIMEOUT_S if decision.by == "speech_timeout" else 0)
        decided = decision.at_s + decision.model_ms / 1000
        ends = decided if decision.by == "silence" else max(decided, stop - stop_secs + stt_p99_s)
        if not any(stop < start < ends for start in starts):  # the caller went on: discarded
            kept.append(Decision(ends, 0.0, decision.by))
    return Replay(kept, list(replay.model_ms), replay.fallbacks)
