"""Endpointing: where an utterance starts and ends in a stream, with Riva's parameters.

In: 16 kHz float32 audio in chunks of any size. Out: finished `Utterance`s.
Riva's rule, applied to VAD frames instead of its acoustic model's blank tokens: an utterance
starts when `start_threshold` of the last `start_history` ms are speech, and ends when
`stop_threshold` of the last `stop_history` ms are not speech.
"""

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from pipeline.speech.errors import invalid
from pipeline.speech.vad import FRAME, FRAME_MS, RATE, VadStream

MAX_HISTORY_MS = 10_000


@dataclass(frozen=True)
class Endpointing:
    """Riva's EndpointingConfig; a field left at 0 (unset) keeps the default here."""

    start_history_ms: int = 300
    start_threshold: float = 0.2
    stop_history_ms: int = 800
    stop_threshold: float = 0.98
    speech_probability: float = 0.5  # a VAD frame at or above this counts as speech

    @classmethod
    def from_proto(cls, config: object) -> "Endpointing":
        """From riva_asr_pb2.EndpointingConfig; raises INVALID_ARGUMENT for nonsense values."""
        default = cls()
        values = {}
        for name, field, limit in (
            ("start_history_ms", "start_history", MAX_HISTORY_MS),
            ("stop_history_ms", "stop_history", MAX_HISTORY_MS),
            ("start_threshold", "start_threshold", 1.0),
            ("stop_threshold", "stop_threshold", 1.0),
        ):
            value = getattr(config, field)
            if value < 0 or value > limit:
                raise invalid(f"endpointing_config.{field} = {value} is outside 0..{limit}")
            values[name] = value if value > 0 else getattr(default, name)
        return cls(**values)

    def frames(self, ms: int) -> int:
        return max(1, round(ms / FRAME_MS))


@dataclass
class Utterance:
    audio: np.ndarray  # 16 kHz float32
    start_s: float  # where it starts in the stream
    trailing_silence: int = 0  # samples at its end that the VAD found to be non-speech


class UtteranceDetector:
    """Feeds audio through the VAD and cuts it into utterances."""

    def __init__(self, vad: VadStream, endpointing: Endpointing, max_seconds: float = 25.0):
        self._vad = vad
        self._speech_p = endpointing.speech_probability
        self._start_window: deque[tuple[np.ndarray, bool]] = deque(
            maxlen=endpointing.frames(endpointing.start_history_ms)
        )
        self._start_needed = _needed(endpointing.start_threshold, self._start_window.maxlen)
        self._stop_window: deque[bool] = deque(
            maxlen=endpointing.frames(endpointing.stop_history_ms)
        )
        self._stop_needed = _needed(endpointing.stop_threshold, self._stop_window.maxlen)
        self._max_frames = int(max_seconds * RATE / FRAME)
        self._pending = np.zeros(0, dtype=np.float32)  # less than one frame
        self._frames_seen = 0
        self._utterance: list[np.ndarray] = []  # frames of the utterance in progress
        self._start_frame = 0
        self._last_was_speech = False
        self._silent_run = 0  # non-speech frames since the utterance's last speech frame

    @property
    def active(self) -> bool:
        """True while inside an utterance."""
        return bool(self._utterance)

    @property
    def speaking(self) -> bool:
        """Inside an utterance and its latest frame was speech (it is not ending right now)."""
        return self.active and self._last_was_speech

    @property
    def samples(self) -> int:
        """Length of the utterance in progress so far."""
        return len(self._utterance) * FRAME

    @property
    def speech_samples(self) -> int:
        """Length of the utterance in progress up to the end of its last speech frame."""
        return self.samples - self._silent_run * FRAME

    @property
    def closing_frames(self) -> int:
        """Non-speech frames after the last speech frame that close an utterance."""
        return self._stop_needed

    @property
    def seconds_processed(self) -> float:
        return self._frames_seen * FRAME / RATE

    def current(self) -> Utterance:
        """The utterance in progress so far (for interim and early final results)."""
        return Utterance(
            np.concatenate(self._utterance),
            self._start_frame * FRAME / RATE,
            self._silent_run * FRAME,
        )

    def feed(self, audio: np.ndarray) -> list[Utterance]:
        """Add audio; return the utterances it completed."""
        done = []
        buffer = np.concatenate([self._pending, audio])
        whole = len(buffer) // FRAME * FRAME
        for frame in buffer[:whole].reshape(-1, FRAME):
            finished = self._step(frame)
            if finished is not None:
                done.append(finished)
        self._pending = buffer[whole:]
        return done

    def finish(self) -> Utterance | None:
        """End of stream: the utterance in progress (with any last partial frame), if any."""
        if not self.active:
            return None
        if self._pending.size:  # a partial frame the VAD has not judged
            self._utterance.append(self._pending)
            self._silent_run = 0
        self._pending = np.zeros(0, dtype=np.float32)
        return self._close()

    def _step(self, frame: np.ndarray) -> Utterance | None:
        is_speech = self._vad.probability(frame) >= self._speech_p
        self._frames_seen += 1
        self._last_was_speech = is_speech
        if not self.active:
            self._start_window.append((frame, is_speech))
            speech = sum(flag for _, flag in self._start_window)
            if is_speech and speech >= self._start_needed:
                self._utterance = [f for f, _ in self._start_window]  # keep the lead-in
                self._start_frame = self._frames_seen - len(self._utterance)
                self._start_window.clear()
                self._stop_window.clear()
                self._silent_run = 0
            return None
        self._utterance.append(frame)
        self._silent_run = 0 if is_speech else self._silent_run + 1
        self._stop_window.append(not is_speech)
        silent = sum(self._stop_window)
        ended = len(self._stop_window) == self._stop_window.maxlen and silent >= self._stop_needed
        if ended or len(self._utterance) >= self._max_frames:
            return self._close()
        return None

    def _close(self) -> Utterance:
        utterance = self.current()
        self._utterance = []
        self._vad.reset()
        return utterance


def _needed(threshold: float, window: int | None) -> int:
    """How many frames of a window satisfy `threshold` (a fraction), at least one."""
    return max(1, math.ceil(threshold * (window or 1) - 1e-9))
