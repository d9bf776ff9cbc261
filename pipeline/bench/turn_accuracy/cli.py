"""`switchboard bench turn-accuracy`: Smart Turn int8, fp32 and fp16 against labelled turns.

In: caller scenarios (the shipped ones, or --scenario NAME|FILE ...), rendered as
turn-quality renders them at 16 kHz and at 8 kHz (G.711 and the serializer's resampling),
labelled by `labels` (utterance ends "complete", pauses inside utterances "incomplete"), plus
piper sentences and beckett.wav prefixes; --limit N keeps N clips per rate, the two labels
taken in turn. Each clip is scored by int8 (as Pipecat runs it), fp32 torch on the CPU and fp16
torch on --device.
Out: a table, and JSON (--json) with per rate and model the accuracy, the false "complete"
rate (incomplete clips said complete), the false "incomplete" rate, the counts, whether fp32
and fp16 are at least as accurate as int8 within one label, run times, every clip's
probabilities and provenance.
"""

import argparse
import sys

from pipeline.settings import Settings

RATES = ("16000", "8000")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "turn-accuracy", help="Smart Turn int8 / fp32 / fp16 accuracy on labelled turns"
    )
    parser.add_argument(
        "--scenario", nargs="+", help="shipped scenario names or YAML files (default: all)"
    )
    parser.add_argument("--limit", type=int, help="score at most N clips per audio rate")
    parser.add_argument(
        "--device", default="cpu", choices=("cpu", "cuda"), help="where fp16 runs (default cpu)"
    )
    parser.add_argument(
        "--after-ms",
        type=int,
        help="silence kept after a scenario clip's last word (default: agent.vad_stop_secs, "
        "when the VAD stops and the model is asked)",
    )
    parser.add_argument("--batch", type=int, default=16, help="clips per model call")
    parser.add_argument("--json", help="write the figures to this file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console

    from pipeline.bench.calls.scenario import ScenarioError
    from pipeline.bench.pipecat_logs import quiet_pipecat_logs
    from pipeline.bench.turn_accuracy.measure import measure
    from pipeline.bench.turn_quality.cli import load_scenarios

    quiet_pipecat_logs()
    if args.limit is not None and args.limit < 1 or args.batch < 1:
        print("switchboard bench turn-accuracy: --limit and --batch take N >= 1", file=sys.stderr)
        return 2
    if args.after_ms is not None and args.after_ms < 0:
        print("switchboard bench turn-accuracy: --after-ms takes ms >= 0", file=sys.stderr)
        return 2
    after_s = None if args.after_ms is None else args.after_ms / 1000
    try:
        scenarios = load_scenarios(args.scenario)
    except (ValueError, ScenarioError) as exc:
        print(f"switchboard bench turn-accuracy: {exc}", file=sys.stderr)
        return 2
    with Console().status("rendering...") as status:
        measured = measure(
            scenarios, settings, args.limit, after_s, args.device, args.batch, status.update
        )
    _print(measured)
    from pipeline.bench.report import write_json

    write_json(args.json, measured)
    return 0


def _print(measured: dict) -> None:
    from pipeline.bench.report import print_table

    # C: labelled complete, I: labelled incomplete; "false C": I clips said complete.
    columns = ["model", "C/I", "acc %", "false C", "%", "false I", "%", "ok", "s/clip"]
    rows = []
    for rate, models in measured["results"].items():
        checks = measured["against_int8"][rate]
        for model, j in models.items():
            seconds = measured["models"][model]["s_per_clip"]
            check = checks.get(model, {}).get("at_least_int8_within_one_label")
            rows.append(
                [
                    f"{int(rate) // 1000}k {model}",
                    f"{j['complete_labels']}/{j['incomplete_labels']}",
                    _pct(j["accuracy"]),
                    f"{j['false_complete']}/{j['incomplete_labels']}",
                    _pct(j["false_complete_rate"]),
                    f"{j['false_incomplete']}/{j['complete_labels']}",
                    _pct(j["false_incomplete_rate"]),
                    "-" if check is None else _yes(check),
                    f"{seconds:.3f}",
                ]
            )
    print_table("turn accuracy against labels (ok: correct >= int8's - 1)", columns, rows)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}"


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"
