"""bench turn-quality's tradeoff parts: the VAD-only timeout swept, the transcript delivered
with the STT's delay, a model answered once per distinct clip, and the curve's points."""

import asyncio
from concurrent.futures import Future

import numpy as np
import pytest

from pipeline.bench.turn_quality.memo_engine import MemoEngine
from pipeline.bench.turn_quality.replay import Decision, Replay, VadTrack, replay_vad_only
from pipeline.bench.turn_quality.tradeoff import below_vad, points
from pipeline.bench.turn_quality.transcript_wait import (
    Transcript,
    transcripts,
    wait_for_transcript,
)
from pipeline.turn.interface import TurnEngine

# VAD times: speech stops at 1.0 s (VAD stop, stop_secs 0.2 after the word), starts again at
# 1.5 s, and stops for good at 3.0 s.
EVENTS = {50: "stop", 75: "start", 150: "stop"}
TRACK = VadTrack([(i / 50, b"", EVENTS.get(i, "")) for i in range(1, 400)], 0.2)


@pytest.mark.parametrize(("timeout_s", "ends"), [(0.4, [1.4, 3.4]), (0.6, [3.6]), (2.0, [5.0])])
def test_vad_only_ends_the_turn_its_timeout_after_a_stop(timeout_s: float, ends: list) -> None:
    # a timeout shorter than the 0.5 s pause ends a turn inside it
    assert [d.at_s for d in replay_vad_only(TRACK, timeout_s).decisions] == pytest.approx(ends)


def test_transcripts_arrive_the_delay_after_each_fragment() -> None:
    words = transcripts(("my order number is", "four five six"), [(0.3, 0.8), (1.5, 2.8)], 0.3)
    assert words == [
        Transcript(pytest.approx(1.1), "my order number is"),
        Transcript(pytest.approx(3.1), "four five six"),
    ]


def test_a_final_transcript_ends_the_wait_before_the_p99_timer() -> None:
    decided = Replay([Decision(3.0, 100.0, "model")])
    timer_only = wait_for_transcript(decided, TRACK, 1.0, 0.2)
    assert timer_only.decisions[0].at_s == pytest.approx(3.8)  # 3.0 - 0.2 + 1.0
    soon = [Transcript(0.9, "a"), Transcript(2.8 + 0.3, "b")]  # speech ended at 0.8 and 2.8 s
    waited = wait_for_transcript(decided, TRACK, 1.0, 0.2, soon)
    assert waited.decisions[0].at_s == pytest.approx(3.1)  # the final came at 3.1 s
    instant = [Transcript(0.8, "a"), Transcript(2.8, "b")]
    waited = wait_for_transcript(decided, TRACK, 1.0, 0.2, instant)
    assert waited.decisions[0].at_s == pytest.approx(3.1)  # no sooner than the model's answer
    late = [Transcript(0.9, "a"), Transcript(2.8 + 2.0, "b")]
    waited = wait_for_transcript(decided, TRACK, 1.0, 0.2, late)
    assert waited.decisions[0].at_s == pytest.approx(3.8)  # earlier text in hand: the timer


def test_a_final_transcript_before_the_caller_resumed_does_not_end_the_turn() -> None:
    """The strategy forgets a finalized transcript when VAD hears speech again; the end
    decided at the first stop (1.0 s) waits, and the caller's resuming discards it."""
    early = [Transcript(1.1, "a"), Transcript(3.1, "b")]
    waited = wait_for_transcript(Replay([Decision(1.0, 0.0, "model")]), TRACK, 1.0, 0.2, early)
    assert waited.decisions == [Decision(1.1, 0.0, "model")]  # final at 1.1 s, before 1.5 s
    slow = [Transcript(1.6, "a"), Transcript(3.6, "b")]
    waited = wait_for_transcript(Replay([Decision(1.0, 0.0, "model")]), TRACK, 1.0, 0.2, slow)
    assert waited.decisions == []  # would end at 1.6 s: the caller spoke again at 1.5 s


class _CountingEngine(TurnEngine):
    name = "counting"

    def __init__(self) -> None:
        self.asked = 0

    def submit_nowait(self, audio: np.ndarray, sample_rate: int, max_seconds: float = 8.0):
        self.asked += 1
        future: Future = Future()
        future.set_result(float(audio.mean() > 0))
        return future

    def wait_ready(self, timeout: float | None = None) -> bool:
        return True

    def close(self) -> None:
        pass


def test_memo_engine_asks_once_per_distinct_clip_and_keeps_its_time() -> None:
    real = _CountingEngine()
    memo = MemoEngine(real)
    up, down = np.ones(1600, np.int16), -np.ones(1600, np.int16)

    async def ask() -> list[float]:
        return [await memo.submit(clip, 16000, 8.0) for clip in (up, down, up, up.copy())]

    assert asyncio.run(ask()) == [1.0, 0.0, 1.0, 1.0]
    assert real.asked == memo.asked == 2
    assert memo.last_ms >= 0.0
    assert asyncio.run(memo.submit(up, 8000, 8.0)) == 1.0 and real.asked == 3  # another rate


def test_points_carry_the_knob_cut_rate_and_p50() -> None:
    summary = {
        "false_interruption_rate": 0.25,
        "latency_ms": {"p50": 812.5, "p99": 900.0, "n": 4},
        "short_latency_ms": {"p50": None, "p99": None, "n": 0},
        "held_past_s": {"1.5": 1},
        "missed": 1,
    }
    [point] = points([(0.6, summary)])
    assert point == {
        "knob": 0.6,
        "cut_rate": 0.25,
        "latency_p50_ms": 812.5,
        "short_latency_p50_ms": None,
        "held_past_1500ms_rate": 0.25,
        "missed": 1,
    }


def _curve(*pairs: tuple[float, float]) -> list[dict]:
    return [{"knob": i, "latency_p50_ms": ms, "cut_rate": cut} for i, (ms, cut) in enumerate(pairs)]


def test_below_vad_compares_with_vad_only_interpolated_up_to_1500_ms() -> None:
    vad = _curve((600, 0.5), (1000, 0.3), (2000, 0.1))  # at 800 ms: 0.4; at 1500 ms: 0.2
    # interpolated: 0.23 at 1000 ms, 0.15 from 1400 ms on
    assert below_vad(_curve((400, 0.35), (1400, 0.15)), vad) is True
    # 0.35 is under VAD-only's 0.4 at 800 ms but not under its 0.3 at 1000 ms
    assert below_vad(_curve((800, 0.35)), vad) is False
    # nothing reached as soon as VAD-only's lowest latency (600 ms)
    assert below_vad(_curve((700, 0.0)), vad) is False
    # past 1500 ms nothing counts; missing figures are left out
    assert below_vad(_curve((500, 0.15), (1800, 0.5), (None, None)), vad) is True
    # VAD-only's 0.2 at 1500 ms is not beaten by a policy stuck at 0.2
    assert below_vad(_curve((500, 0.2), (1800, 0.5)), vad) is False
    assert below_vad(_curve((500, 0.2)), _curve((1600, 0.1))) is None
