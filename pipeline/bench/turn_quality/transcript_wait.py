"""The transcript the STT delivers in a replay, and the wait for it that follows an end-of-turn
decision in a live pipeline.

In: a replay's decisions, its VadTrack, the STT's p99 (`ttfs_p99_latency`, 1.0 s in the agent),
VAD stop_secs, and optionally when each fragment's final transcript arrives (`transcripts`:
each fragment's words `--stt-delay-ms` after its last word). Out: the decisions that still end
the turn, each moved to when the turn really ends.

Both Pipecat stop strategies (wait_for_transcript=True, the agent's) end the turn only once a
transcript is in hand: a finalized one that came after the caller last started speaking, or
any text once the STT timer runs out, p99 after the speech ended (the VAD stop less
stop_secs). Speech that VAD hears before then discards the pending end. Without
`transcripts`, text is taken to be in hand but never finalized: the turn ends by the timer
(the slowest case); with a final transcript at once the replay's own decisions stand.
"""

from dataclasses import dataclass

from pipeline.bench.turn_quality.replay import Decision, Replay, VadTrack


@dataclass(frozen=True)
class Transcript:
    at_s: float  # audio time the final transcript arrives
    text: str  # the words of one fragment


def transcripts(
    fragments: tuple[str, ...], spans: list[tuple[float, float]], delay_s: float
) -> list[Transcript]:
    """Each fragment's words as one final transcript, delay_s after its last word."""
    pairs = zip(fragments, spans, strict=True)
    return [Transcript(end + delay_s, text) for text, (_, end) in pairs]


def wait_for_transcript(
    replay: Replay,
    track: VadTrack,
    stt_p99_s: float,
    stop_secs: float,
    finals: list[Transcript] | None = None,
) -> Replay:
    starts = [at for at, _frame, event in track.frames if event == "start"]
    stops = [at for at, _frame, event in track.frames if event == "stop"]
    kept = []
    for decision in replay.decisions:
        stop = max((at for at in stops if at <= decision.at_s), default=decision.at_s)
        timer = stop - stop_secs + stt_p99_s
        ready = timer if finals is None else _in_hand(finals, starts, stop, timer)
        ends = max(decision.at_s + decision.model_ms / 1000, ready)
        if not any(stop < start < ends for start in starts):  # the caller went on: discarded
            kept.append(Decision(ends, 0.0, decision.by))
    return Replay(kept, list(replay.model_ms), replay.fallbacks)


def _in_hand(finals: list[Transcript], starts: list[float], stop: float, timer: float) -> float:
    """When a transcript lets the turn end: a final one since the caller last started
    speaking, or the first text once the timer has run out."""
    last_start = max((at for at in starts if at <= stop), default=0.0)
    final = min((t.at_s for t in finals if t.at_s >= last_start), default=float("inf"))
    first_text = min((t.at_s for t in finals), default=float("inf"))
    return min(final, max(timer, first_text))
