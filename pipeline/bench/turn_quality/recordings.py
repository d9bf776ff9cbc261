"""Real recordings for `bench turn-quality --scenario FOLDER`: WAV files and their labels.

In: a folder of WAV files (mono, 16-bit PCM, 8000 Hz for a phone line or 16000 Hz wideband:
the caller's side of each call) and `labels.yaml` saying, per file, where each caller utterance
starts and ends and the pauses inside it:

    recordings:
      - file: call-0001.wav
        utterances:
          - start_s: 0.52            # the utterance's first word begins
            end_s: 3.91              # its last word ends: where the turn is complete
            pauses: [[1.40, 2.25]]   # silences inside it (after a word, before the next)
            text: my order number is | four five six   # optional: the words, "|" at pauses

Out: one RecordedCase per utterance: its clip (LEAD_S of the recording before the first word,
no further back than the utterance before; up to the next utterance's start after the last
word) and the speech spans in clip time. An utterance with one fragment is a short answer when
its text has at most SHORT_WORDS words (without text: when it lasts at most SHORT_S).
LabelError names the file and what is wrong.
"""

import wave
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from pipeline.bench.turn_quality.score import SHORT_WORDS, Case
from pipeline.callers.line import LINE_RATE, PIPELINE_RATE

LABELS = "labels.yaml"
LEAD_S = 1.0  # recording kept before the first word: the VAD's and Smart Turn's pre-speech
SHORT_S = 1.0


class LabelError(ValueError):
    """A recordings folder that cannot be read: the message names the file and the field."""


class _Utterance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_s: float
    end_s: float
    pauses: list[tuple[float, float]] = []
    text: str | None = None

    @model_validator(mode="after")
    def _in_order(self) -> "_Utterance":
        times = [self.start_s, *(t for pause in self.pauses for t in pause), self.end_s]
        if self.start_s < 0 or any(a >= b for a, b in pairwise(times)):
            raise ValueError("start_s, each pause's start and end, and end_s must increase")
        if self.text is not None and len(self.fragments) != len(self.pauses) + 1:
            raise ValueError(f"text needs {len(self.pauses) + 1} fragments split by '|'")
        return self

    @property
    def fragments(self) -> tuple[str, ...]:
        if self.text is None:
            return ("",) * (len(self.pauses) + 1)
        return tuple(part.strip() for part in self.text.split("|"))

    @property
    def spans(self) -> list[tuple[float, float]]:
        edges = [self.start_s, *(t for pause in self.pauses for t in pause), self.end_s]
        return list(zip(edges[::2], edges[1::2], strict=True))


class _Recording(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    utterances: list[_Utterance]


class _Labels(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recordings: list[_Recording]


@dataclass(frozen=True)
class RecordedCase(Case):
    """A caller utterance cut from a recording, replayed at the recording's own rate."""

    rate: int = PIPELINE_RATE
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16), compare=False)
    spans: tuple[tuple[float, float], ...] = ()
    has_text: bool = False

    @property
    def short(self) -> bool:
        if len(self.spans) != 1:
            return False
        if self.has_text:
            return len(self.fragments[0].split()) <= SHORT_WORDS
        start, end = self.spans[0]
        return end - start <= SHORT_S


def load_recordings(folder: Path) -> list[RecordedCase]:
    """Every labelled utterance of the folder's recordings, in label order."""
    folder = Path(folder)
    path = folder / LABELS
    try:
        labels = _Labels.model_validate(yaml.safe_load(path.read_text()))
    except (OSError, yaml.YAMLError) as exc:
        raise LabelError(f"{path}: cannot read labels: {exc}") from exc
    except ValidationError as exc:
        lines = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise LabelError(f"{path}: invalid labels\n  " + "\n  ".join(lines)) from None
    cases = []
    for recording in labels.recordings:
        audio, rate = _read_wav(folder / recording.file)
        cases += _cases(folder.name, recording, audio, rate)
    return cases


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    try:
        with wave.open(str(path), "rb") as wav:
            shape = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate())
            data = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise LabelError(f"{path}: cannot read the WAV: {exc}") from exc
    if shape[:2] != (1, 2) or shape[2] not in (PIPELINE_RATE, LINE_RATE):
        raise LabelError(
            f"{path}: need mono 16-bit PCM at {LINE_RATE} or {PIPELINE_RATE} Hz; "
            f"got {shape[0]} channel(s), {8 * shape[1]}-bit, {shape[2]} Hz"
        )
    return np.frombuffer(data, dtype="<i2").astype(np.int16), shape[2]


def _cases(name: str, recording: _Recording, audio: np.ndarray, rate: int) -> list[RecordedCase]:
    utterances = sorted(recording.utterances, key=lambda u: u.start_s)
    length_s = len(audio) / rate
    cases = []
    for i, u in enumerate(utterances):
        if u.end_s > length_s:
            raise LabelError(f"{recording.file}: utterance at {u.start_s} s ends past the audio")
        before = utterances[i - 1].end_s if i else 0.0
        if before > u.start_s:
            raise LabelError(f"{recording.file}: utterance at {u.start_s} s overlaps the last")
        after = utterances[i + 1].start_s if i + 1 < len(utterances) else length_s
        begin = max(before, u.start_s - LEAD_S)
        clip = audio[int(begin * rate) : int(after * rate)]
        cases.append(
            RecordedCase(
                scenario=f"{name}/{recording.file}",
                fragments=u.fragments,
                pauses_ms=tuple(round((b - a) * 1000) for a, b in u.pauses),
                seed=i,
                rate=rate,
                audio=clip,
                spans=tuple((a - begin, b - begin) for a, b in u.spans),
                has_text=u.text is not None,
            )
        )
    return cases
