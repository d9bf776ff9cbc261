"""Runs the turn-quality comparison: utterances -> replays in both modes -> summaries.

In: loaded scenarios, the pause lengths to sweep, the settings (agent.vad_stop_secs, turn).
Out: per audio rate ("16000", "8000") and mode ("smart", "vad") a summary from
turn_quality.score, one row per utterance replayed, and how the claim published for Smart
Turn against VAD-only fares.
Each utterance is rendered with its scenario's seed, followed by TAIL_S of line noise, and
replayed on its own (a fresh VAD and analyzer), as a new caller turn.
"""

from collections.abc import Callable

import numpy as np

from pipeline.bench.calls.scenario import Scenario
from pipeline.bench.turn_quality.replay import Replay, replay_smart, replay_vad_only, vad_track
from pipeline.bench.turn_quality.score import Case, CaseScore, score, summarize
from pipeline.bench.turn_quality.transcript_wait import wait_for_transcript
from pipeline.callers.line import LINE_RATE, PIPELINE_RATE
from pipeline.callers.telephone_audio import agent_frames
from pipeline.callers.utterance_audio import line_noise, render_utterance
from pipeline.settings import Settings
from pipeline.turn.analyzer import SharedSmartTurnAnalyzer

RATES = (PIPELINE_RATE, LINE_RATE)
TAIL_S = 4.5  # line noise after the last word: longer than Smart Turn's 3 s silence timeout
# The model's verdict is what is measured, so the engine waits for it however loaded the machine
# is (the agent's deadline would turn a slow answer into a fallback, mixing load into the
# audio-time results); its time is measured and reported, and fallbacks still counted.
DEADLINE_MS = 120_000.0


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


async def replay_case(
    case: Case, rate: int, settings: Settings, stt_p99_s: float = 0.0
) -> dict[str, tuple[CaseScore, Replay]]:
    """Both modes on one utterance at one rate: {"smart": (score, replay), "vad": ...}, and
    with stt_p99_s > 0 also "smart_stt" and "vad_stt": the same ended by the transcript wait."""
    rendered = render_utterance(list(case.fragments), list(case.pauses_ms), case.seed, rate)
    tail = line_noise(int(TAIL_S * rate), case.seed + 1, rate)
    frames = await agent_frames(np.concatenate([rendered.audio, tail]), rate)
    track = vad_track(frames, settings.agent.vad_stop_secs)
    turn = settings.turn.model_copy(update={"deadline_ms": DEADLINE_MS})
    replays = {
        "smart": await replay_smart(track, SharedSmartTurnAnalyzer(settings=turn)),
        "vad": replay_vad_only(track),
    }
    stop_secs = settings.agent.vad_stop_secs
    if stt_p99_s > 0:
        for mode in ("smart", "vad"):
            replays[f"{mode}_stt"] = wait_for_transcript(replays[mode], track, stt_p99_s, stop_secs)
    return {m: (score(case, r, rendered.speech_spans), r) for m, r in replays.items()}


async def measure(
    cases: list[Case],
    settings: Settings,
    stt_p99_s: float = 0.0,
    progress: Callable[[str], object] = print,
) -> dict:
    """{rate: {mode: summary}} over all cases, plus the per-utterance rows."""
    results, rows = {}, []
    for rate in RATES:
        per_mode: dict[str, list] = {}
        for i, case in enumerate(cases):
            progress(f"{rate} Hz: utterance {i + 1}/{len(cases)}")
            replayed = await replay_case(case, rate, settings, stt_p99_s)
            for mode, (case_score, replay) in replayed.items():
                per_mode.setdefault(mode, []).append((case, case_score, replay))
                rows.append(
                    {
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
                )
        results[str(rate)] = {mode: summarize(r) for mode, r in per_mode.items()}
    return {"results": results, "utterances": rows}


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
