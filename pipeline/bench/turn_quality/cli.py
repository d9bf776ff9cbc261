"""`switchboard bench turn-quality`: the agent's turn policy, stock Smart Turn and VAD-only turn
ending, on the same audio.

In: caller scenarios (the shipped ones, or --scenario NAME|FILE|FOLDER ...; a folder holds real
recordings and their labels, see recordings.py). Every scenario utterance, and every one with
pauses again with each pause set to each --sweep-ms length, is rendered (same seeds) at 16 kHz
and at 8 kHz (then G.711 and the Twilio serializer's resampling); a recording is replayed at
its own rate. Each is replayed in audio time through Silero VAD with the agent's stop_secs and
then each policy of tradeoff.py over its knob; each also with the transcript wait that follows
in a live pipeline (transcript_wait, modes "..._stt"; --stt-delay-ms: each fragment's words
arrive that long after it).
Out: a table, and JSON with per audio rate and mode (the agent's values) the false-interruption
rate over pauses, latency p50/p99 from the last word to the end of the turn (all complete
utterances, and short ones), model time, the counts, how the claim published for Smart Turn
against VAD-only fares (`published_claim`), and per rate and mode the tradeoff curve over the
knob (`tradeoff`); --plot draws the curves.
"""

import argparse
import asyncio
import sys
from pathlib import Path

from pipeline.settings import Settings

DEFAULT_SWEEP_MS = "300,500,700,1000,1500,2000"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "turn-quality",
        help="pauses cut and turn latency: the agent's policy, stock Smart Turn and VAD-only, "
        "each swept over its knob",
    )
    parser.add_argument(
        "--scenario",
        nargs="+",
        help="shipped scenario names, YAML files, or folders of recordings with a labels.yaml "
        "(docs/turn-quality.md; default: all shipped scenarios)",
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
    parser.add_argument(
        "--stt-delay-ms",
        type=float,
        help="with the transcript wait: each fragment's words arrive as a final transcript this "
        "long after its last word (default: no final transcript, the p99 timer ends the wait)",
    )
    parser.add_argument(
        "--vad-check",
        action="store_true",
        help="only check the VAD: which generated sounds (short answers, line noise, DTMF, "
        "breath, the agent's echo, a room talker) start a turn, agent.vad_* against Pipecat's "
        "defaults",
    )
    parser.add_argument("--plot", help="draw the tradeoff curves to this PNG")
    parser.add_argument("--json", help="write the figures to this file")
    parser.set_defaults(func=run)


def load_scenarios(names: list[str] | None) -> list:
    """Shipped scenarios by name, or YAML files by path; all shipped ones when None.
    ValueError or ScenarioError name what is wrong."""
    from pipeline.bench.calls.scenario import load_scenario, scenario_path, shipped_scenarios

    return [load_scenario(scenario_path(name)) for name in names or list(shipped_scenarios())]


def load_cases(names: list[str] | None, sweep: list[int]) -> tuple[list[str], list]:
    """The names of the sources and their cases: scenarios (load_scenarios) with the pauses
    swept, and the utterances of folders of recordings (LabelError names what is wrong)."""
    from pipeline.bench.turn_quality.recordings import load_recordings
    from pipeline.bench.turn_quality.run import build_cases

    folders = [Path(n) for n in names or [] if Path(n).is_dir()]
    named = [n for n in names or [] if not Path(n).is_dir()]
    scenarios = load_scenarios(named) if named or not folders else []
    cases = build_cases(scenarios, sweep)
    for folder in folders:
        cases += load_recordings(folder)
    return [s.name for s in scenarios] + [f.name for f in folders], cases


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
    from pipeline.bench.turn_quality.run import measure, published_claim
    from pipeline.bench.turn_quality.tables import print_results, print_tradeoff

    quiet_pipecat_logs()
    if args.vad_check:
        return _vad_check(args, settings)
    try:
        sweep = _sweep(args.sweep_ms)
        if args.stt_delay_ms is not None and args.stt_delay_ms < 0:
            raise ValueError(f"--stt-delay-ms must be 0 or more; got {args.stt_delay_ms}")
        sources, cases = load_cases(args.scenario, sweep)
    except (ValueError, ScenarioError) as exc:  # LabelError is a ValueError
        print(f"switchboard bench turn-quality: {exc}", file=sys.stderr)
        return 2
    delay_s = None if args.stt_delay_ms is None else args.stt_delay_ms / 1000
    with Console().status("rendering and replaying...") as status:
        measured = asyncio.run(measure(cases, settings, args.stt_p99_s, status.update, delay_s))
    results = measured["results"]
    claim = published_claim(results)
    print_results(results, claim)
    print_tradeoff(measured["tradeoff"], measured["tradeoff_knobs"], measured["tradeoff_below_vad"])
    if args.plot:
        from pipeline.bench.plot import plot_tradeoff

        plot_tradeoff(measured["tradeoff"], measured["tradeoff_knobs"], args.plot)
    write_json(
        args.json,
        {
            "scenarios": sources,
            "sweep_ms": sweep,
            "vad_stop_secs": settings.agent.vad_stop_secs,
            "vad_only_timeout_s": VAD_ONLY_TIMEOUT_S,
            "stt_p99_s": args.stt_p99_s,
            "stt_delay_ms": args.stt_delay_ms,
            "smart_turn_stop_secs": SmartTurnParams().stop_secs,
            "turn_settings": settings.turn.model_dump(mode="json"),
            "machine": machine(),
            **measured,
            "published_claim": claim,
        },
    )
    return 0


def _vad_check(args: argparse.Namespace, settings: Settings) -> int:
    """Print and write (--json) what vad_check.check measures."""
    from pipeline.bench.report import machine, write_json
    from pipeline.bench.turn_quality.vad_check import check

    result = check(settings.agent)
    for rate, configs in result.items():
        for name, row in configs.items():
            false_starts = ", ".join(row.get("false_starts", [])) or "-"
            unheard = ", ".join(row["unheard"]) or "-"
            print(f"{rate} Hz {name:18} unheard: {unheard:40} false starts: {false_starts}")
    vad = {k: v for k, v in settings.agent.model_dump().items() if k.startswith("vad_")}
    write_json(args.json, {"agent_vad": vad, "machine": machine(), "vad_check": result})
    return 0
