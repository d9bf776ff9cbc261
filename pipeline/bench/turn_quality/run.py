"""Runs the turn-quality comparison: utterances -> replays of every policy -> summaries.

In: cases (scenario utterances, rendered at both rates; recorded ones, at their own rate), the
settings (agent.vad_stop_secs, turn), the STT's p99 and delay. Out: per audio rate ("16000",
"8000") and mode a summary from turn_quality.score at the value the agent runs (`results`:
"smart", "stock", "vad", and with the transcript wait "..._stt"), per rate and mode the
tradeoff points over the policy's knob (`tradeoff`) and whether each curve lies below
VAD-only's, one row per utterance replayed, and how the claim published for Smart Turn against
VAD-only fares.
Each utterance is followed by TAIL_S of line noise (a recording's own audio first, up to the
next utterance) and replayed on its own (a fresh VAD and analyzer), as a new caller turn.
"""

from collections.abc import Callable

import numpy as np

from pipeline.agent.vad import agent_vad
from pipeline.bench.calls.scenario import Scenario
from pipeline.bench.turn_quality.memo_engine import MemoEngine
from pipeline.bench.turn_quality.recordings import RecordedCase
from pipeline.bench.turn_quality.replay import Replay, vad_track
from pipeline.bench.turn_quality.score import Case, CaseScore, score, summarize
from pipeline.bench.turn_quality.tradeoff import Policy, below_vad, points, policies
from pipeline.bench.turn_quality.transcript_wait import transcripts, wait_for_transcript
from pipeline.callers.line import LINE_RATE, PIPELINE_RATE
from pipeline.callers.telephone_audio import agent_frames
from pipeline.callers.utterance_audio import line_noise, render_utterance
from pipeline.settings import Settings
from pipeline.turn.engine_registry import shared_engine

RATES = (PIPELINE_RATE, LINE_RATE)
TAIL_S = 4.5  # line noise after the last word: longer than Smart Turn's 3 s silence timeout
WARM_S = 1.0  # line noise the VAD hears before each utterance, as in a call under way
# The model's verdict is what is measured, so the engine waits for it however loaded the machine
# is (the agent's deadline would turn a slow answer into a fallback, mixing load into the
# audio-time results); its time is measured and reported, and fallbacks still counted.
DEADLINE_MS = 120_000.0
BOUNDS = ("", "_stt")  # the decision alone; with the transcript wait


def build_cases(scenarios: list[Scenario], sweep_ms: list[int]) -> list[Case]:
    """Each distinct utterance once with its scripted pauses, and once per swept length."""
    cases: dict[tuple, Case] = {}
    for scenario in scenarios:
        for utterance in scenario.utterances():
            frags, pauses = tuple(utterance.utterance), tuple(utterance.pauses_ms)
            variants = [pauses] + ([(ms,) * len(pauses) for ms in sweep_ms] if pauses else [])
            for variant in variants:
                cases.setdefault(
                    (frags, variant), Case(scenario.name, frags, variant, scenario.seed)
                )
    return list(cases.values())


def case_audio(case: Case, rate: int) -> tuple[np.ndarray, list[tuple[float, float]]] | None:
    """The caller audio of one case at `rate` and its speech spans; None for a recording made
    at another rate."""
    if isinstance(case, RecordedCase):
        if case.rate != rate:
            return None
        missing = int((case.spans[-1][1] + TAIL_S) * rate) - len(case.audio)
        tail = line_noise(max(missing, 0), case.seed + 1, rate)
        return np.concatenate([case.audio, tail]), list(case.spans)
    rendered = render_utterance(list(case.fragments), list(case.pauses_ms), case.seed, rate)
    tail = line_noise(int(TAIL_S * rate), case.seed + 1, rate)
    return np.concatenate([rendered.audio, tail]), rendered.speech_spans


async def replay_case(
    case: Case,
    rate: int,
    settings: Settings,
    modes: list[Policy],
    stt_p99_s: float = 0.0,
    stt_delay_s: float | None = None,
) -> dict[tuple[str, float], tuple[CaseScore, Replay]] | None:
    """Every policy at every knob value on one utterance at one rate: {(mode, knob): (score,
    replay)}, with stt_p99_s > 0 also "<mode>_stt": the same ended by the transcript wait.
    None when the case has no audio at this rate."""
    heard = case_audio(case, rate)
    if heard is None:
        return None
    audio, spans = heard
    stop_secs = settings.agent.vad_stop_secs
    warm = await agent_frames(line_noise(int(WARM_S * rate), case.seed + 2, rate), rate)
    vad = agent_vad(settings.agent)
    track = vad_track(await agent_frames(audio, rate), stop_secs, vad, warm)
    words = None if stt_delay_s is None else transcripts(case.fragments, spans, stt_delay_s)
    # What a policy reads: each fragment's words as it ends. A live turn cannot end before its
    # transcript is in hand (the wait below), and a policy re-reads the words when they come,
    # so it decides on these; the STT's delay only moves when the turn ends (the wait).
    heard = transcripts(case.fragments, spans, 0.0)
    scored = {}
    for policy in modes:
        for knob in policy.sweep:
            replay = await policy.replay(track, knob, heard)
            scored[(policy.mode, knob)] = (score(case, replay, spans), replay)
            if stt_p99_s > 0:
                waited = wait_for_transcript(replay, track, stt_p99_s, stop_secs, words)
                scored[(f"{policy.mode}_stt", knob)] = (score(case, waited, spans), waited)
    return scored


async def measure(
    cases: list[Case],
    settings: Settings,
    stt_p99_s: float = 0.0,
    progress: Callable[[str], object] = print,
    stt_delay_s: float | None = None,
) -> dict:
    """`results` {rate: {mode: summary}} over all cases at the shipped knob values,
    `tradeoff` {rate: {mode: points}} over every knob value, `tradeoff_below_vad` {rate: {mode:
    bool | None}}, each mode's knob, the model questions asked, and the per-utterance rows
    (shipped values)."""
    turn = settings.turn.model_copy(update={"deadline_ms": DEADLINE_MS})
    engine = MemoEngine(shared_engine(turn))
    modes = policies(turn, engine, settings.turn_policy)
    shipped = {p.mode + bound: p.shipped for p in modes for bound in BOUNDS}
    results, tradeoff, rows = {}, {}, []
    for rate in RATES:
        sweeps: dict[tuple[str, float], list] = {}
        for i, case in enumerate(cases):
            progress(f"{rate} Hz: utterance {i + 1}/{len(cases)}")
            replayed = await replay_case(case, rate, settings, modes, stt_p99_s, stt_delay_s)
            for (mode, knob), (case_score, replay) in (replayed or {}).items():
                sweeps.setdefault((mode, knob), []).append((case, case_score, replay))
                if knob == shipped[mode]:
                    rows.append(_row(rate, mode, case, case_score))
        if not sweeps:
            continue
        names = [p.mode + b for b in BOUNDS for p in modes if (p.mode + b, p.shipped) in sweeps]
        results[str(rate)] = {m: summarize(sweeps[(m, shipped[m])]) for m in names}
        tradeoff[str(rate)] = {
            m: points([(k, summarize(v)) for (mode, k), v in sweeps.items() if mode == m])
            for m in names
        }
    return {
        "results": results,
        "tradeoff": tradeoff,
        "tradeoff_below_vad": {
            rate: {
                m: below_vad(curve, curves["vad_stt" if m.endswith("_stt") else "vad"])
                for m, curve in curves.items()
                if not m.startswith("vad")
            }
            for rate, curves in tradeoff.items()
        },
        "tradeoff_knobs": {p.mode: p.knob for p in modes},
        "model_questions": engine.asked,
        "utterances": rows,
    }


def _row(rate: int, mode: str, case: Case, case_score: CaseScore) -> dict:
    return {
        "rate": rate,
        "mode": mode,
        "scenario": case.scenario,
        "fragments": case.fragments,
        "pauses_ms": case.pauses_ms,
        "cut": [c for _, c in case_score.pauses],
        "latency_ms": None
        if case_score.latency_s is None
        else round(case_score.latency_s * 1000, 1),
    }


def published_claim(results: dict) -> dict:
    """The claim published for Smart Turn against VAD-only, checked: Smart Turn "talks over
    the caller about 30 % less often than VAD-only, and answers a short complete utterance
    sooner". Per rate: the measured reduction in false interruptions and how much sooner
    (p50) short answers end."""
    claim = {}
    for rate, modes in results.items():
        for suffix in ("", "_stt"):
            if f"smart{suffix}" not in modes:
                continue
            smart, vad = modes[f"smart{suffix}"], modes[f"vad{suffix}"]
            rate_smart, rate_vad = smart["false_interruption_rate"], vad["false_interruption_rate"]
            reduction = 1 - rate_smart / rate_vad if rate_vad else None  # None: nothing to compare
            short_smart, short_vad = (
                smart["short_latency_ms"]["p50"],
                vad["short_latency_ms"]["p50"],
            )
            sooner = short_vad - short_smart if None not in (short_smart, short_vad) else None
            claim[f"{rate}{suffix}"] = {
                "false_interruptions_fewer_by": reduction,
                "short_p50_sooner_by_ms": sooner,
                "holds": reduction is not None
                and sooner is not None
                and reduction >= 0.3
                and sooner > 0,
            }
    return claim
