"""Early final transcripts: Whisper starts on an utterance as soon as its speech stops.

In: after each chunk of a stream, the endpointing's utterance in progress; at the end of an
utterance, the finished utterance. Out: its transcript, when a transcription started during
the pause that ended it heard all of its speech (every frame after that point was
non-speech); otherwise None, and the stream transcribes the whole utterance as before.

Endpointing closes an utterance only after `stop_history` of non-speech, and transcribing it
then puts a whole Whisper run after that wait. Starting Whisper at the pause's first
non-speech frame overlaps the two: the final result still comes only when endpointing closes
the utterance (one final per utterance, as Riva gives), up to one Whisper run sooner. The
guess hears the utterance as endpointing will close it: the rest of the closing pause is
added as digital silence (without it Whisper tiny drops final punctuation and, on short
answers, whole words). A guess that speech resumed after is dropped (cancelled if it has not
started). A guess starts only when the engine has a decoder to spare, so under load streams
transcribe as before.
"""

import functools
import logging
import math
import os
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from pipeline.speech.asr_engine import Transcript
from pipeline.speech.endpointing import Utterance, UtteranceDetector
from pipeline.speech.vad import FRAME, FRAME_MS

logger = logging.getLogger(__name__)


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """The threads early transcriptions run on, shared by every stream of the process."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="early-final")


class EarlyFinal:
    """One stream's guess: the transcription of its utterance up to where speech stopped."""

    def __init__(self, transcribe: Callable[[Utterance], Transcript | None], after_ms: int) -> None:
        """`after_ms` of non-speech start a guess (rounded up to whole VAD frames); 0: never."""
        self._transcribe = transcribe
        self._after = math.ceil(after_ms / FRAME_MS) if after_ms > 0 else None
        self._guess: Future[Transcript | None] | None = None
        self._start_s = 0.0  # the guessed utterance's start in the stream
        self._speech = 0  # samples of it the guess heard up to its last speech frame
        self.started = 0  # guesses started (for logs and tests)
        self.used = 0  # guesses that became final results

    def update(self, detector: UtteranceDetector, spare: bool) -> None:
        """After a chunk was fed: drop a guess that new speech outdated; start one when the
        utterance's speech stopped `after_ms` ago and `spare` says a decoder is free."""
        if self._after is None:
            return
        if self._guess is not None and (
            not detector.active or detector.speech_samples != self._speech
        ):
            self.drop()
        silent = detector.samples - detector.speech_samples
        if self._guess is None and detector.active and silent >= self._after * FRAME and spare:
            utterance = detector.current()
            to_come = max(0, detector.closing_frames * FRAME - silent)
            utterance.audio = np.concatenate([utterance.audio, np.zeros(to_come, np.float32)])
            self._start_s = utterance.start_s
            self._speech = detector.speech_samples
            self._guess = _pool().submit(self._transcribe, utterance)
            self.started += 1

    def take(self, utterance: Utterance) -> Transcript | None:
        """The guess's transcript if it heard all the speech of `utterance` (waiting for it to
        finish if needed), else None; either way the guess is gone afterwards."""
        guess, self._guess = self._guess, None
        if guess is None:
            return None
        speech = utterance.audio.size - utterance.trailing_silence
        if utterance.start_s != self._start_s or speech != self._speech:
            guess.cancel()
            return None
        waited = time.perf_counter()
        found = guess.result()
        if found is not None:
            self.used += 1
            logger.debug("early final used (waited %.3f s for it)", time.perf_counter() - waited)
        return found

    def drop(self) -> None:
        """Forget the guess (speech resumed, or the stream ended)."""
        if self._guess is not None:
            self._guess.cancel()
            self._guess = None
