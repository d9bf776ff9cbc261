"""Caller scenarios: what a simulated caller says and does, loaded from YAML and rendered to audio.

In: a scenario YAML file (format below), or a shipped scenario's name (`scenario_path`).
Out: a validated `Scenario` (steps in order). pipeline.callers.utterance_audio's
`render_utterance` turns one of its utterances into audio plus the (start_s, end_s) span of
every spoken fragment.

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

from pathlib import Path
from typing import Annotated, Any

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

SCENARIO_DIR = Path(__file__).with_name("scenarios")


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

    def fragments(self) -> list[str]:
        """Every fragment the caller speaks, in order: what a scripted ASR answers with."""
        return [fragment for utterance in self.utterances() for fragment in utterance.utterance]


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
    """name -> path of every scenario shipped in pipeline/bench/calls/scenarios/."""
    return {path.stem: path for path in sorted(SCENARIO_DIR.glob("*.yaml"))}


def scenario_path(name_or_file: str) -> Path:
    """A shipped scenario's path by name, or the given file; ValueError names the choices."""
    shipped = shipped_scenarios()
    if name_or_file in shipped:
        return shipped[name_or_file]
    path = Path(name_or_file)
    if path.is_file():
        return path
    raise ValueError(
        f"no scenario {name_or_file!r}: give a YAML file or one of {', '.join(shipped)}"
    )
