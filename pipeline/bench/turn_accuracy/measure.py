"""Runs the accuracy comparison: labelled clips at both rates -> each model's verdicts -> figures.

In: loaded scenarios, the settings (agent.vad_stop_secs, turn.model_path), --limit, the
silence kept after a scenario clip's last word (default vad_stop_secs), the fp16 device, the
batch size. Out: the JSON document: per rate ("16000", "8000") and model the
figures from `summary`, the check against int8, each model's run time, every clip with its
label and probabilities, and provenance.
"""

from collections.abc import Callable

from models.smart_turn_file import locate
from pipeline.bench.calls.scenario import Scenario
from pipeline.bench.report import provenance
from pipeline.bench.turn_accuracy.labels import LabelledClip, real_speech_clips, scenario_clips
from pipeline.bench.turn_accuracy.scoring import MODELS, THRESHOLD, score_clips
from pipeline.bench.turn_accuracy.summary import against_int8, judge
from pipeline.bench.turn_quality.cli import DEFAULT_SWEEP_MS
from pipeline.callers.line import LINE_RATE, PIPELINE_RATE
from pipeline.settings import Settings

SWEEP_MS = [int(ms) for ms in DEFAULT_SWEEP_MS.split(",")]


def take_in_turn(clips: list[LabelledClip], limit: int | None) -> list[LabelledClip]:
    """At most `limit` clips, complete and incomplete ones in turn (all when limit is None)."""
    if limit is None:
        return clips
    by_label = [[c for c in clips if c.label == label] for label in ("complete", "incomplete")]
    mixed = [c for pair in zip(*by_label, strict=False) for c in pair]
    longer = max(by_label, key=len)
    mixed += longer[min(map(len, by_label)) :]
    return mixed[:limit]


def labelled_clips(
    scenarios: list[Scenario], after_s: float, limit: int | None
) -> list[LabelledClip]:
    """Scenario and real-speech clips at 16 kHz and at 8 kHz, at most `limit` per rate."""
    clips = []
    for rate in (PIPELINE_RATE, LINE_RATE):
        rated = scenario_clips(scenarios, SWEEP_MS, rate, after_s) + real_speech_clips(rate)
        clips += take_in_turn(rated, limit)
    return clips


def measure(
    scenarios: list[Scenario],
    settings: Settings,
    limit: int | None = None,
    after_s: float | None = None,
    device: str = "cpu",
    batch: int = 16,
    progress: Callable[[str], object] = print,
) -> dict:
    stop_secs = settings.agent.vad_stop_secs
    after_s = stop_secs if after_s is None else after_s
    clips = labelled_clips(scenarios, after_s, limit)
    model = locate(settings.turn.model_path)
    runs = {
        m: score_clips([c.audio for c in clips], m, model.path, device, batch, progress)
        for m in MODELS
    }
    results, checks = {}, {}
    for rate in (PIPELINE_RATE, LINE_RATE):
        index = [i for i, c in enumerate(clips) if c.rate == rate]
        labels = [clips[i].label for i in index]
        judged = {m: judge(labels, run.probabilities[index]) for m, run in runs.items()}
        results[str(rate)], checks[str(rate)] = judged, against_int8(judged)
    return {
        "scenarios": [s.name for s in scenarios],
        "sweep_ms": SWEEP_MS,
        "vad_stop_secs": stop_secs,
        "after_last_word_s": after_s,
        "limit_per_rate": limit,
        "threshold": THRESHOLD,
        "model": {"path": str(model.path), "sha256": model.sha256},
        "results": results,
        "against_int8": checks,
        "overall": {m: judge([c.label for c in clips], r.probabilities) for m, r in runs.items()},
        "models": {
            m: {**r.how, "seconds": r.seconds, "s_per_clip": r.seconds / max(len(clips), 1)}
            for m, r in runs.items()
        },
        "clips": [
            {
                "name": c.name,
                "source": c.source,
                "label": c.label,
                "rate": c.rate,
                "seconds": round(len(c.audio) / PIPELINE_RATE, 3),
                "p": {m: round(float(r.probabilities[i]), 5) for m, r in runs.items()},
            }
            for i, c in enumerate(clips)
        ],
        "provenance": provenance({m: r.how for m, r in runs.items()}),
    }
