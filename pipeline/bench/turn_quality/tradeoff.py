"""The turn policies compared, each swept over its main knob, and the tradeoff curve they draw.

In: the settings' turn engine (wrapped in a MemoEngine, so sweeping a model policy asks the
model only the questions the sweep makes new). Out: the policies, each with the knob it sweeps,
its values, the value the agent runs, and a replay of one utterance at one knob value; and from
the summaries of a sweep, its points for the curve: pause cut-off rate against p50 latency over
complete utterances, as eot-bench plots them; and whether a curve lies below VAD-only's.

- vad: VAD-only turn ending (agent.turn_mode=vad), swept over Pipecat's speech timeout after the
  VAD stop; runs with Pipecat's default.
- stock: stock Smart Turn (agent.turn_mode=stock): asked at each VAD stop, "incomplete" waits for
  `SmartTurnParams.stop_secs` of silence; its default only.
- smart: the policy the agent ships (agent.turn_mode=smart: pipeline/turn/stop_strategy.py with
  the settings' turn_policy), the agent's own strategy object replayed (replay_holding.py),
  swept over turn_policy.end_hold_s, the least hold (0: a turn the model is sure of ends at the
  VAD stop), which trades latency for fewer cuts as VAD-only's timeout does.
A policy's replay also receives the transcripts (when each fragment's words arrive: as the
fragment ends, or --stt-delay-ms after it), so a policy that reads the words is replayed as the
live agent would feed it.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams

from pipeline.bench.turn_quality.memo_engine import MemoEngine
from pipeline.bench.turn_quality.replay import (
    VAD_ONLY_TIMEOUT_S,
    Replay,
    VadTrack,
    replay_smart,
    replay_vad_only,
)
from pipeline.bench.turn_quality.replay_holding import replay_holding
from pipeline.bench.turn_quality.transcript_wait import Transcript
from pipeline.settings import TurnPolicySettings, TurnSettings
from pipeline.turn.analyzer import SharedSmartTurnAnalyzer
from pipeline.turn.stop_strategy import HoldingTurnStopStrategy

VAD_TIMEOUTS_S = (0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0)
END_HOLDS_S = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25)
GRID_MS = 10.0  # below_vad compares the curves this often
_SAME_MS = 1e-6  # latencies this close are the same (sums of 20 ms frames in floats)

ReplayAt = Callable[[VadTrack, float, list[Transcript] | None], Awaitable[Replay]]


@dataclass(frozen=True)
class Policy:
    mode: str  # the key under `results` and `tradeoff`
    knob: str  # what the sweep sets
    values: tuple[float, ...]
    shipped: float  # the value the agent runs: the one scored under `results`
    replay: ReplayAt

    @property
    def sweep(self) -> list[float]:
        """The values replayed: the swept ones and the shipped one, in order."""
        return sorted({*self.values, self.shipped})


def policies(
    turn: TurnSettings, engine: MemoEngine, policy: TurnPolicySettings | None = None
) -> list[Policy]:
    policy = policy or TurnPolicySettings()

    async def vad(track: VadTrack, timeout_s: float, _words: list[Transcript] | None) -> Replay:
        return replay_vad_only(track, timeout_s)

    async def smart_turn(
        track: VadTrack, stop_secs: float, _words: list[Transcript] | None
    ) -> Replay:
        params = SmartTurnParams(stop_secs=stop_secs)
        analyzer = SharedSmartTurnAnalyzer(engine=engine, settings=turn, params=params)
        return await replay_smart(track, analyzer, lambda: engine.last_ms)

    async def holding(track: VadTrack, hold_s: float, words: list[Transcript] | None) -> Replay:
        strategy = HoldingTurnStopStrategy(
            turn_analyzer=SharedSmartTurnAnalyzer(engine=engine, settings=turn),
            policy=policy.model_copy(update={"end_hold_s": hold_s}),
            wait_for_transcript=False,
        )
        return await replay_holding(track, strategy, words, lambda: engine.last_ms)

    stock = SmartTurnParams().stop_secs
    return [
        Policy("smart", "end_hold_s", END_HOLDS_S, policy.end_hold_s, holding),
        Policy("stock", "stop_secs", (stock,), stock, smart_turn),
        Policy("vad", "user_speech_timeout_s", VAD_TIMEOUTS_S, VAD_ONLY_TIMEOUT_S, vad),
    ]


def points(knob_summaries: list[tuple[float, dict]]) -> list[dict]:
    """One point per knob value: its pause cut-off rate and p50 latency (complete utterances),
    short answers' p50, the share of complete utterances whose turn ended more than 1.5 s
    after the last word, and the utterances never heard."""
    return [
        {
            "knob": knob,
            "cut_rate": s["false_interruption_rate"],
            "latency_p50_ms": s["latency_ms"]["p50"],
            "short_latency_p50_ms": s["short_latency_ms"]["p50"],
            "held_past_1500ms_rate": s["held_past_s"]["1.5"] / n
            if (n := s["latency_ms"]["n"])
            else None,
            "missed": s["missed"],
        }
        for knob, s in knob_summaries
    ]


def below_vad(curve: list[dict], vad: list[dict], up_to_ms: float = 1500.0) -> bool | None:
    """Whether `curve` lies below VAD-only's curve at every latency from the lowest VAD-only
    reaches to up_to_ms. Both curves are interpolated linearly between their points; past its
    slowest point a policy keeps the fewest cuts it reached. Compared at every point of either
    curve in the range and every GRID_MS. None: VAD-only has no point in the range."""
    vad_x, vad_y = _line(vad)
    mine_x, mine_y = _line(curve)
    if not vad_x or vad_x[0] > up_to_ms:
        return None
    dense = np.arange(vad_x[0], up_to_ms, GRID_MS).tolist() + [up_to_ms]
    grid = sorted({x for x in vad_x + mine_x + dense if vad_x[0] <= x <= up_to_ms})
    for at in grid:
        if not mine_x or at < mine_x[0] - _SAME_MS:
            return False  # the policy does not answer that soon
        reached = min(y for x, y in zip(mine_x, mine_y, strict=True) if x <= at)
        if at <= mine_x[-1]:
            reached = min(reached, float(np.interp(at, mine_x, mine_y)))
        if reached >= float(np.interp(at, vad_x, vad_y)):
            return False
    return True


def _line(curve: list[dict]) -> tuple[list[float], list[float]]:
    """A curve's points with figures, by latency: (latencies, cut rates)."""
    drawn = sorted(
        (p["latency_p50_ms"], p["cut_rate"])
        for p in curve
        if p["latency_p50_ms"] is not None and p["cut_rate"] is not None
    )
    return [x for x, _ in drawn], [y for _, y in drawn]
