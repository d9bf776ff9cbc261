"""`switchboard bench turn-quality`: Smart Turn against VAD-only turn ending, on the same audio.

In: caller scenarios (the shipped ones, or --scenario NAME|FILE ...). Every caller utterance,
and every one with pauses again with each pause set to each --sweep-ms length, is rendered
(same seeds) at 16 kHz and at 8 kHz (then G.711 and the Twilio serializer's resampling) and
replayed in audio time through Silero VAD with the agent's stop_secs and then (a) the shared
Smart Turn engine, (b) Pipecat's speech timeout alone; each also with the transcript wait
that follows in a live pipeline (transcript_wait, modes "smart_stt" and "vad_stt").
Out: a table, and JSON with per audio rate and mode the false-interruption rate over pauses,
latency p50/p99 from the last word to the end of the turn (all complete utterances, and
short ones), model time, the counts, and how the claim published for Smart Turn against
VAD-only fares (`published_claim`).
"""

import argparse
import asyncio
import sys

from pipeline.settings import Settings

DEFAULT_SWEEP_MS = "300,500,700,1000,1500,2000"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "turn-quality", help="false interruptions and turn latency: Smart Turn vs VAD-only"
    )
    parser.add_argument(
        "--scenario", nargs="+", help="shipped scenario names or YAML files (default: all)"
    )
    parser.add_argument(
        "--sweep-ms",
        default=DEFAULT_SWEEP_MS,
        help="replay utterances with pauses again with every pause set to each of these "
        "lengths (ms); '' for the scripted pauses only",
    )
    parser.add_argument(
        "--stt-p99-s",
        type=float,
        default=1.0,
        help="also score the turns as ended by the transcript wait, the final transcript "
        "coming only by this STT p99 safety net (the agent's ttfs_p99_latency); 0: skip",
    )
    parser.add_argument("--json", help="write the figures to this file")
    parser.set_defaults(func=run)


def load_scenarios(names: list[str] | None) -> list:
    """Shipped scenarios by name, or YAML files by path; all shipped ones when None.
    ValueError or ScenarioError name what is wrong."""
    from pipeline.bench.calls.scenario import load_scenario, scenario_path, shipped_scenarios

    return [load_scenario(scenario_path(name)) for name in names or list(shipped_scenarios())]


def _sweep(text: str) -> list[int]:
    try:
        sweep = [int(ms) for ms in text.split(",") if ms.strip()]
    except ValueError:
        sweep = [-1]
    if any(ms <= 0 for ms in sweep):
        raise ValueError(f"--sweep-ms takes pause lengths in ms, e.g. 300,1000; got {text!r}")
    return sweep


def run(args: argparse.Namespace, settings: Settings) -> int:
    from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
    from rich.console import Console

    from pipeline.bench.calls.scenario import ScenarioError
    from pipeline.bench.pipecat_logs import quiet_pipecat_logs
    from pipeline.bench.report import machine, write_json
    from pipeline.bench.turn_quality.replay import VAD_ONLY_TIMEOUT_S
    from pipeline.bench.turn_quality.run import build_cases, measure, published_claim

    quiet_pipecat_logs()
    try:
        sweep = _sweep(args.sweep_ms)
        scenarios = load_scenarios(args.scenario)
    except (ValueError, ScenarioError) as exc:
        print(f"switchboard bench turn-quality: {exc}", file=sys.stderr)
        return 2
    cases = build_cases(scenarios, sweep)
    with Console().status("rendering and replaying...") as status:
        measured = asyncio.run(measure(cases, settings, args.stt_p99_s, status.update))
    results = measured["results"]
    claim = published_claim(results)
    _print(results, claim)
    write_json(
        args.json,
        {
            "scenarios": [s.name for s in scenarios],
            "sweep_ms": sweep,
            "vad_stop_secs": settings.agent.vad_stop_secs,
            "vad_only_timeout_s": VAD_ONLY_TIMEOUT_S,
            "stt_p99_s": args.stt_p99_s,
            "smart_turn_stop_secs": SmartTurnParams().stop_secs,
            "turn_settings": settings.turn.model_dump(mode="json"),
            "machine": machine(),
            **measured,
            "published_claim": claim,
        },
    )
    return 0


def _print(results: dict, claim: dict) -> None:
    from pipeline.bench.report import print_table

    columns = [
        "audio mode",
        "cut",
        "cut %",
        "p50",
        "p99",
        "short p50",
        "p99",
        "missed",
        "model p50",
    ]
    rows = []
    for rate, modes in results.items():
        for mode, s in modes.items():
            latency, short = s["latency_ms"], s["short_latency_ms"]
            rows.append(
                [
                    f"{int(rate) // 1000}k {mode.replace('_', '+')}",
                    f"{s['pauses_cut']}/{s['pauses']}",
                    _whole(s["false_interruption_rate"], 100),
                    _whole(latency["p50"]),
                    _whole(latency["p99"]),
                    _whole(short["p50"]),
                    _whole(short["p99"]),
                    f"{s['missed']}/{s['utterances']}",
                    _whole(s["model_ms"]["p50"]),
                ]
            )
    print_table("turn quality: pauses cut, latency from the last word (ms)", columns, rows)
    for key, c in claim.items():
        rate, _, stt = key.partition("_")
        when = " (transcript by the p99 wait)" if stt else ""
        fewer = _whole(c["false_interruptions_fewer_by"], 100)
        sooner = _whole(c["short_p50_sooner_by_ms"])
        verdict = "holds" if c["holds"] else "does not hold"
        print(
            f"{rate} Hz{when}: Smart Turn cuts {fewer} % fewer pauses than VAD-only, "
            f"ends short answers {sooner} ms sooner (p50): the published claim {verdict}"
        )


def _whole(value: float | None, scale: float = 1) -> str:
    return "n/a" if value is None else f"{value * scale:.0f}"
