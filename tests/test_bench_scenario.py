"""Caller scenarios: the YAML loader (clear errors naming file and field) and the rendering of
utterances to piper audio whose speech spans are where the words really are."""

from pathlib import Path

import numpy as np
import pytest

from pipeline.bench.calls.scenario import (
    BargeInStep,
    DtmfStep,
    HangUpStep,
    ScenarioError,
    SilenceStep,
    load_scenario,
    shipped_scenarios,
)
from pipeline.callers.utterance_audio import LEAD_IN_S, render_utterance

GOOD = """
name: tiny
seed: 4
answer_within_s: 12
steps:
  - utterance: ["My order number is", "four five six"]
    pauses_ms: [700]
  - barge_in: {after_agent_ms: 800, utterance: ["sorry, one more thing"]}
  - dtmf: "456#"
  - silence_ms: 6000
  - hang_up: {after_agent_ms: 500}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def test_loads_every_step_kind(tmp_path: Path) -> None:
    scenario = load_scenario(_write(tmp_path, GOOD))
    assert (scenario.name, scenario.seed, scenario.answer_within_s) == ("tiny", 4, 12)
    kinds = [type(step) for step in scenario.steps[1:]]
    assert kinds == [BargeInStep, DtmfStep, SilenceStep, HangUpStep]
    assert scenario.steps[0].pauses_ms == [700]
    assert [u.utterance for u in scenario.utterances()] == [
        ["My order number is", "four five six"],
        ["sorry, one more thing"],
    ]


def test_shipped_scenarios_load_and_cover_the_issue() -> None:
    shipped = shipped_scenarios()
    assert {"hesitant-cancel", "short-answers", "barge-in", "dtmf-order"} <= set(shipped)
    scenarios = [load_scenario(path) for path in shipped.values()]
    assert [s.name for s in scenarios] == list(shipped)  # file stem == scenario name
    pauses = {p for s in scenarios for u in s.utterances() for p in u.pauses_ms}
    assert min(pauses) <= 300 and max(pauses) >= 2000
    steps = {type(step) for s in scenarios for step in s.steps}
    assert {BargeInStep, DtmfStep, SilenceStep, HangUpStep} <= steps


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("name: [\n", "cannot read scenario"),
        ("- just a list\n", "a scenario is a mapping"),
        (GOOD.replace("pauses_ms: [700]", "pauses_ms: []"), "steps[0].utterance"),
        (GOOD.replace("seed: 4\n", ""), "seed: Field required"),
        (GOOD.replace('dtmf: "456#"', 'dtmf: "12x"'), "steps[2].dtmf"),
        (GOOD.replace("after_agent_ms: 800", "after_agent_ms: -1"), "barge_in.after_agent_ms"),
        (GOOD.replace("silence_ms: 6000", "sing: la"), "a step needs one of the keys"),
        (GOOD.replace("answer_within_s: 12", "answer_within: 12"), "answer_within"),
    ],
)
def test_bad_scenarios_name_file_and_field(tmp_path: Path, text: str, named: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert str(path) in str(error.value)
    assert named in str(error.value)


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="missing.yaml"):
        load_scenario(tmp_path / "missing.yaml")


def _rms_dbfs(audio: np.ndarray) -> float:
    rms = np.sqrt(np.mean(audio.astype(np.float64) ** 2))
    return 20 * np.log10(max(rms, 1e-9) / 32768)


@pytest.mark.parametrize("rate", [16000, 8000])
def test_rendered_spans_are_where_the_words_are(rate: int) -> None:
    rendered = render_utterance(["My order number is", "four five six"], [700], seed=4, rate=rate)
    (start0, end0), (start1, end1) = rendered.speech_spans
    assert rendered.rate == rate and rendered.audio.dtype == np.int16
    assert start0 == pytest.approx(LEAD_IN_S, abs=1 / rate)
    assert start1 - end0 == pytest.approx(0.7, abs=1 / rate)  # the pause, to the sample
    assert end1 == pytest.approx(len(rendered.audio) / rate, abs=1 / rate)
    assert 0.6 < end0 - start0 < 2.0 and 0.5 < end1 - start1 < 2.0

    def cut(a: float, b: float) -> np.ndarray:
        return rendered.audio[int(a * rate) : int(b * rate)]

    lead, pause = cut(0, start0), cut(end0 + 0.01, start1 - 0.01)
    assert _rms_dbfs(lead) < -50 and _rms_dbfs(pause) < -50  # only line noise
    assert _rms_dbfs(pause) > -70  # but there is line noise
    assert _rms_dbfs(cut(start0, end0)) > -35 and _rms_dbfs(cut(start1, end1)) > -35
    # Tight spans: speech right up to each span's end, not piper's trailing silence.
    assert _rms_dbfs(cut(end0 - 0.1, end0)) > _rms_dbfs(pause) + 6
    assert _rms_dbfs(cut(end1 - 0.1, end1)) > _rms_dbfs(pause) + 6


def test_rendering_is_repeatable_and_the_seed_changes_the_noise() -> None:
    a = render_utterance(["yes"], [], seed=1)
    b = render_utterance(["yes"], [], seed=1)
    c = render_utterance(["yes"], [], seed=2)
    assert np.array_equal(a.audio, b.audio)
    assert a.speech_spans == c.speech_spans
    assert not np.array_equal(a.audio, c.audio)
    assert not a.audio.flags.writeable  # shared through the cache: nobody may change it


def test_render_rejects_mismatched_pauses() -> None:
    with pytest.raises(ValueError, match="2 fragments need 1 pauses"):
        render_utterance(["one", "two"], [], seed=1)
