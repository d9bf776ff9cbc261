"""Caller scenarios: what a simulated caller says and does, loaded from YAML and rendered to audio.

In: a scenario YAML file (format below), or an utterance's fragments, pauses and seed.
Out: a validated `Scenario` (steps in order), or a `RenderedUtterance` (int16 mono audio plus
the (start_s, end_s) span of every spoken fragment, so a benchmark knows where words end).

    name: hesitant-cancel
    seed: 7                      # line noise deterministic from it
    answer_within_s: 20          # a caller turn with no agent audio within this = missed turn
    steps:
      - utterance: ["I need to cancel my order", "actually, wait, let me check something first"]
        pauses_ms: [1500]        # silences between fragments, INSIDE one utterance
      - utterance: ["yes"]
      - barge_in: {after_agent_ms: 800, utterance: ["sorry, one more thing"]}
      - dtmf: "456#"
      - silence_ms: 6000
      - hang_up: {after_agent_ms: 500}
"""

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from pipeline.bench.caller_audio import synthesize

SCENARIO_DIR = Path(__file__).with_name("scenarios")
LEAD_IN_S = 0.3  # line noise before the first word, so a VAD starts from silence
NOISE_DBFS = (-62.0, -54.0)  # range of the seeded line-noise level (white, RMS)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Utterance(_Strict):
    """One caller turn: fragments spoken with `pauses_ms` of silence between them."""

    utterance: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    pauses_ms: list[Annotated[int, Field(ge=0, le=10_000)]] = []

    @model_validator(mode="after")
    def _one_pause_between_fragments(self) -> "Utterance":
        if len(self.pauses_ms) != len(self.utterance) - 1:
            raise ValueError(
                f"pauses_ms needs {len(self.utterance) - 1} entries (one between each pair "
                f"of fragments), got {len(self.pauses_ms)}"
            )
        return self


class BargeIn(Utterance):
    """An utterance started `after_agent_ms` after the agent begins to speak."""

    after_agent_ms: int = Field(ge=0)


class HangUp(_Strict):
    after_agent_ms: int = Field(ge=0)


class BargeInStep(_Strict):
    barge_in: BargeIn


class DtmfStep(_Strict):
    dtmf: str = Field(pattern=r"^[0-9A-D*#]+$")


class SilenceStep(_Strict):
    silence_ms: int = Field(gt=0, le=600_000)


class HangUpStep(_Strict):
    hang_up: HangUp


STEP_KINDS = ("utterance", "barge_in", "dtmf", "silence_ms", "hang_up")


def _step_kind(step: Any) -> str | None:
    keys = step.keys() if isinstance(step, dict) else vars(step).keys()
    return next((kind for kind in STEP_KINDS if kind in keys), None)


Step = Annotated[
    Annotated[Utterance, Tag("utterance")]
    | Annotated[BargeInStep, Tag("barge_in")]
    | Annotated[DtmfStep, Tag("dtmf")]
    | Annotated[SilenceStep, Tag("silence_ms")]
    | Annotated[HangUpStep, Tag("hang_up")],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message=f"a step needs one of the keys {', '.join(STEP_KINDS)}",
    ),
]


class Scenario(_Strict):
    name: str = Field(min_length=1)
    seed: int = Field(ge=0)
    answer_within_s: float = Field(gt=0)
    steps: list[Step] = Field(min_length=1)

    def utterances(self) -> list[Utterance]:
        """Every caller utterance in order, barge-ins included."""
        return [
            step.barge_in if isinstance(step, BargeInStep) else step
            for step in self.steps
            if isinstance(step, Utterance | BargeInStep)
        ]


class ScenarioError(ValueError):
    """A scenario file that cannot be read or does not match the format; names file and field."""


def load_scenario(path: Path) -> Scenario:
    """Read and validate one scenario YAML; ScenarioError names the file and the bad field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping with name, seed, steps")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = [f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ScenarioError(f"{path}: invalid scenario\n  " + "\n  ".join(lines)) from None


def _where(loc: tuple[str | int, ...]) -> str:
    """('steps', 2, 'barge_in', 'barge_in', 'after_agent_ms') -> steps[2].barge_in.after_agent_ms"""
    parts = [p for i, p in enumerate(loc) if i == 0 or p != loc[i - 1]]
    text = ".".join(f"[{p}]" if isinstance(p, int) else p for p in parts).replace(".[", "[")
    return text or "(top level)"


def shipped_scenarios() -> dict[str, Path]:
    """name -> path of every scenario shipped in pipeline/bench/scenarios/."""
    return {path.stem: path for path in sorted(SCENARIO_DIR.glob("*.yaml"))}


@dataclass(frozen=True)
class RenderedUtterance:
    audio: np.ndarray  # int16 mono at `rate` (read-only: shared through the cache)
    rate: int
    speech_spans: list[tuple[float, float]]  # (start_s, end_s) of each spoken fragment


def line_noise(samples: int, seed: int, rate: int) -> np.ndarray:
    """Seeded white line noise (int16) at a level between NOISE_DBFS, as under a real call."""
    rng = np.random.default_rng([seed, rate, samples])
    level = 32767 * 10 ** (np.random.default_rng(seed).uniform(*NOISE_DBFS) / 20)
    return np.clip(rng.normal(0.0, level, samples), -32768, 32767).astype(np.int16)


@functools.lru_cache(maxsize=512)
def _spoken(text: str, rate: int) -> np.ndarray:
    """`text` spoken by piper, its own leading and trailing silence trimmed (-60 dBFS)."""
    audio = synthesize(text, rate)
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > 32)
    return audio[loud[0] : loud[-1] + 1] if loud.size else audio


@functools.lru_cache(maxsize=256)
def _render(fragments: tuple[str, ...], pauses_ms: tuple[int, ...], seed: int, rate: int):
    parts = [np.zeros(int(LEAD_IN_S * rate), dtype=np.int16)]
    spans, at = [], LEAD_IN_S
    for i, text in enumerate(fragments):
        speech = _spoken(text, rate)
        spans.append((at, at + len(speech) / rate))
        at += len(speech) / rate
        parts.append(speech)
        if i < len(pauses_ms):
            parts.append(np.zeros(int(pauses_ms[i] * rate / 1000), dtype=np.int16))
            at += int(pauses_ms[i] * rate / 1000) / rate
    clean = np.concatenate(parts).astype(np.int32)
    audio = np.clip(clean + line_noise(len(clean), seed, rate), -32768, 32767).astype(np.int16)
    audio.flags.writeable = False
    return RenderedUtterance(audio=audio, rate=rate, speech_spans=spans)


def render_utterance(
    fragments: list[str], pauses_ms: list[int], seed: int, rate: int = 16000
) -> RenderedUtterance:
    """Caller audio for one utterance: LEAD_IN_S of line noise, then each fragment with the
    given pauses between them, line noise from `seed` under all of it. Cached per process."""
    if len(pauses_ms) != len(fragments) - 1:
        raise ValueError(f"{len(fragments)} fragments need {len(fragments) - 1} pauses")
    return _render(tuple(fragments), tuple(int(p) for p in pauses_ms), seed, rate)
