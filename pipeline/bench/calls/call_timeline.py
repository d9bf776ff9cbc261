"""Judging one caller turn from a call's timeline: did the agent cut in, did it answer, how fast.

In: the caller's turns (when each spoken fragment began and ended, on the caller's clock) and
the arrival times of the agent's speech packets. Out: per turn, whether the agent began
speaking inside the utterance (a false interruption), whether it answered within the
scenario's limit (else a missed turn), and the latency from the last word to its first audio.
Pure functions: no sockets, no clocks.
"""

from dataclasses import dataclass

BURST_GAP_S = 0.6  # agent quiet this long, then speech again: a new burst (a new start)


@dataclass(frozen=True)
class CallerTurn:
    """One caller utterance; `spans` are its spoken fragments as (start, end) times."""

    spans: tuple[tuple[float, float], ...]
    answer_within_s: float
    barge_in: bool = False

    @property
    def first_word(self) -> float:
        return self.spans[0][0]

    @property
    def last_word(self) -> float:
        return self.spans[-1][1]


@dataclass(frozen=True)
class TurnOutcome:
    false_interruption: bool  # the agent began speaking before the caller's last word
    missed: bool  # no agent speech within answer_within_s of the last word
    latency_s: float | None  # last word -> the answer's first audio; None when missed


def agent_bursts(
    speech_times: list[float], gap_s: float = BURST_GAP_S
) -> list[tuple[float, float]]:
    """Group the arrival times of agent speech packets into (start, end) bursts of talk."""
    bursts: list[tuple[float, float]] = []
    for at in sorted(speech_times):
        if bursts and at - bursts[-1][1] < gap_s:
            bursts[-1] = (bursts[-1][0], at)
        else:
            bursts.append((at, at))
    return bursts


def judge_turn(turn: CallerTurn, bursts: list[tuple[float, float]]) -> TurnOutcome:
    """A burst that starts after the first word and before the last one cut the caller off
    (talk that began before the caller did, as under a barge-in, does not count). The answer
    is the first burst that starts after the first word and is still going at the last word
    or starts later; its latency is 0 when it began inside the utterance."""
    cut_in = any(turn.first_word < start < turn.last_word for start, _ in bursts)
    answer = next(
        (start for start, end in bursts if start > turn.first_word and end >= turn.last_word),
        None,
    )
    if answer is None or answer - turn.last_word > turn.answer_within_s:
        return TurnOutcome(cut_in, True, None)
    return TurnOutcome(cut_in, False, max(0.0, answer - turn.last_word))
