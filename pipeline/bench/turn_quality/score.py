"""Scores end-of-turn decisions against where the caller's words really were.

In: the replays' decisions for one utterance and its speech spans (each fragment's start and
end). Out: per utterance, which pauses the turn was ended in (false interruptions) and the
latency from the last word to the end-of-turn decision; over many, the rates and percentiles.

A pause counts as cut when a turn ended after the fragment before it ended and before the
fragment after it ended: the agent would take the turn while the caller is still inside one
utterance (a decision just after the caller resumed, before VAD noticed, is a cut too).
The latency of a complete utterance is audio time from its last word to the decision, plus
the time the model took for that decision.
"""

import bisect
from dataclasses import dataclass

from pipeline.bench.report import percentile_ms
from pipeline.bench.turn_quality.replay import Replay

SHORT_WORDS = 3  # a one-fragment utterance of at most this many words is a short answer
HELD_PAST_S = (1.5,)  # complete utterances whose turn ended later than this after the last word


@dataclass(frozen=True)
class Case:
    """One caller utterance to replay."""

    scenario: str
    fragments: tuple[str, ...]
    pauses_ms: tuple[int, ...]
    seed: int

    @property
    def short(self) -> bool:
        return len(self.fragments) == 1 and len(self.fragments[0].split()) <= SHORT_WORDS


@dataclass
class CaseScore:
    pauses: list[tuple[int, bool]]  # (pause length ms, cut?) for each pause inside it
    early_cuts: int  # turn ended inside the first fragment (before any scripted pause)
    latency_s: float | None  # last word -> end-of-turn decision; None: no decision (missed)
    audio_latency_s: float | None = None  # the same without the model's time (load-free)
    final_by: str = ""  # what ended the turn after the last word: model, silence, ...


def score(case: Case, replay: Replay, spans: list[tuple[float, float]]) -> CaseScore:
    ends = [end for _, end in spans]
    cut: set[int] = set()
    early, latency, audio_latency, final_by = 0, None, None, ""
    for decision in replay.decisions:
        if decision.at_s >= ends[-1]:
            audio_latency = decision.at_s - ends[-1]
            latency = audio_latency + decision.model_ms / 1000
            final_by = decision.by
            break
        segment = bisect.bisect_right(ends, decision.at_s)  # 0: inside the first fragment
        if segment == 0:
            early += 1
        else:
            cut.add(segment - 1)
    pauses = [(ms, i in cut) for i, ms in enumerate(case.pauses_ms)]
    return CaseScore(pauses, early, latency, audio_latency, final_by)


def _percentiles(seconds: list[float]) -> dict[str, float | int | None]:
    """p50 and p99 in ms (None when there is nothing to rank: JSON has no NaN) and the count."""
    if not seconds:
        return {"p50": None, "p99": None, "n": 0}
    return {"p50": percentile_ms(seconds, 50), "p99": percentile_ms(seconds, 99), "n": len(seconds)}


def summarize(results: list[tuple[Case, CaseScore, Replay]]) -> dict:
    """Rates and percentiles over many utterances replayed in one mode at one audio rate."""
    pauses = [p for _, s, _ in results for p in s.pauses]
    cut = sum(was_cut for _, was_cut in pauses)
    by_pause: dict[int, list[bool]] = {}
    for ms, was_cut in pauses:
        by_pause.setdefault(ms, []).append(was_cut)
    latencies = [s.latency_s for _, s, _ in results if s.latency_s is not None]
    short = [s.latency_s for c, s, _ in results if c.short and s.latency_s is not None]
    return {
        "utterances": len(results),
        "pauses": len(pauses),
        "pauses_cut": cut,
        "false_interruption_rate": cut / len(pauses) if pauses else None,
        "cuts_inside_first_fragment": sum(s.early_cuts for _, s, _ in results),
        "missed": sum(s.latency_s is None for _, s, _ in results),
        "latency_ms": _percentiles(latencies),
        "held_past_s": {str(s): sum(latency > s for latency in latencies) for s in HELD_PAST_S},
        "short_latency_ms": _percentiles(short),
        "audio_latency_ms": _percentiles(
            [s.audio_latency_s for _, s, _ in results if s.audio_latency_s is not None]
        ),
        "short_utterances": sum(c.short for c, _, _ in results),
        "model_ms": _percentiles([ms / 1000 for _, _, r in results for ms in r.model_ms]),
        "ended_by": {
            by: sum(s.final_by == by for _, s, _ in results)
            for by in sorted({s.final_by for _, s, _ in results} - {""})
        },
        "model_calls": sum(len(r.model_ms) for _, _, r in results),
        "fallbacks": sum(r.fallbacks for _, _, r in results),
        "cut_rate_by_pause_ms": {
            str(ms): {"pauses": len(v), "cut": sum(v)} for ms, v in sorted(by_pause.items())
        },
    }
