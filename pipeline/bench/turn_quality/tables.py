"""The tables `bench turn-quality` prints: per rate and mode at the agent's values, how the
published claim fares, and the tradeoff points over each policy's knob."""

from pipeline.bench.report import print_table


def print_results(results: dict, claim: dict) -> None:
    """Per rate and mode: pauses cut, latency p50/p99 (all, short answers), missed, model time;
    then a line per published-claim check."""
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


def print_tradeoff(tradeoff: dict, knobs: dict[str, str], below: dict) -> None:
    """One row per rate, mode and knob value: pauses cut and p50 latency; then whether each
    curve lies below VAD-only's (`below`: {rate: {mode: True|False|None}})."""
    rows = [
        [
            f"{int(rate) // 1000}k {mode.replace('_', '+')}",
            f"{knobs[mode.removesuffix('_stt')]}={p['knob']:g}",
            _whole(p["cut_rate"], 100),
            _whole(p["latency_p50_ms"]),
            _whole(p["short_latency_p50_ms"]),
        ]
        for rate, modes in tradeoff.items()
        for mode, curve in modes.items()
        for p in curve
    ]
    columns = ["audio mode", "knob", "cut %", "p50", "short p50"]
    print_table("tradeoff: pauses cut against latency from the last word (ms)", columns, rows)
    what = {True: "lies below", False: "does not lie below", None: "cannot be compared to"}
    for rate, modes in below.items():
        for mode, verdict in modes.items():
            name = mode.replace("_", "+")
            print(f"{rate} Hz {name}: {what[verdict]} VAD-only's curve up to 1500 ms")


def _whole(value: float | None, scale: float = 1) -> str:
    return "n/a" if value is None else f"{value * scale:.0f}"
