"""One recognition: audio chunks in, Riva recognition results out.

In: the validated request settings and audio bytes, chunk by chunk. Out: results with a
transcript, `is_final`, and `audio_processed`. Each utterance found by endpointing gets
exactly one final result (also when the stream closes mid-utterance), transcribed while
endpointing still waits out the closing pause when it can (early_final.py); while an utterance
goes on, interim results follow as new audio arrives, but only when Whisper has a decoder to
spare and at most one per twice the time the last one took, so interims do not delay anyone's
final result and never take more than half of a stream's real time.
"""

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

from riva.client.proto import riva_asr_pb2 as rasr

from pipeline.speech.asr_engine import RATE, Transcript, WhisperEngine
from pipeline.speech.audio import AudioFormat, StreamDecoder
from pipeline.speech.early_final import EarlyFinal
from pipeline.speech.endpointing import Endpointing, Utterance, UtteranceDetector
from pipeline.speech.vad import SileroVad

INTERIM_EVERY_S = 0.6  # at least this much new audio between interim results
_PUNCTUATION = re.compile(r"[^\w\s'\-]")


@dataclass(frozen=True)
class RecognitionOptions:
    """What a RecognitionConfig asks for, checked (see asr_service.recognition_options)."""

    fmt: AudioFormat
    endpointing: Endpointing
    interim_results: bool = False
    punctuation: bool = False
    word_offsets: bool = False
    hotwords: str | None = None


@dataclass
class Result:
    transcript: Transcript
    is_final: bool
    audio_processed: float  # seconds of the stream heard so far


class Recognition:
    """State of one stream: decoder, endpointing, and when the last interim went out."""

    def __init__(
        self,
        asr: WhisperEngine,
        vad: SileroVad,
        options: RecognitionOptions,
        early_final_ms: int = 0,
    ) -> None:
        """`early_final_ms`: how far into a pause Whisper starts on the utterance (0: only
        when endpointing closes it; see early_final.py)."""
        self._asr = asr
        self._options = options
        self._decoder = StreamDecoder(options.fmt, RATE)
        self._detector = UtteranceDetector(vad.stream(), options.endpointing)
        self._interim_at = 0  # utterance length (samples) at the last interim
        self._interim_cost = 0.0  # seconds the last interim took
        self.early = EarlyFinal(self._transcribe, early_final_ms)

    def feed(self, data: bytes) -> Iterator[Result]:
        """Add a chunk of wire audio; yield the results it produced."""
        for utterance in self._detector.feed(self._decoder.decode(data)):
            yield self._final(utterance)
        self.early.update(self._detector, self._asr.spare)
        # an interim while the speaker pauses would only delay the final that may be coming
        if self._options.interim_results and self._detector.speaking and self._asr.spare:
            wait_s = max(INTERIM_EVERY_S, 2 * self._interim_cost)
            if self._detector.samples - self._interim_at >= wait_s * RATE:
                current = self._detector.current()
                self._interim_at = current.audio.size
                started = time.perf_counter()
                transcript = self._transcribe(current, quick=True)
                self._interim_cost = time.perf_counter() - started
                if transcript is not None:
                    yield Result(transcript, False, self._processed())

    def finish(self) -> Iterator[Result]:
        """The stream ended: the final results still to come, if any."""
        for utterance in self._detector.feed(self._decoder.flush()):
            yield self._final(utterance)
        utterance = self._detector.finish()
        if utterance is not None:
            yield self._final(utterance)
        self.early.drop()

    def _final(self, utterance: Utterance) -> Result:
        self._interim_at = 0
        transcript = self.early.take(utterance) or self._transcribe(utterance) or Transcript("")
        return Result(transcript, True, self._processed())

    def _processed(self) -> float:
        return self._detector.seconds_processed

    def _transcribe(self, utterance: Utterance, quick: bool = False) -> Transcript | None:
        options = self._options
        found = self._asr.transcribe(
            utterance.audio, words=options.word_offsets, hotwords=options.hotwords, quick=quick
        )
        if found is None:
            return None
        for word in found.words:  # utterance time -> stream time
            word.start_s += utterance.start_s
            word.end_s += utterance.start_s
        if not options.punctuation:
            found.text = plain_text(found.text)
            for word in found.words:
                word.text = plain_text(word.text)
        return found


def plain_text(text: str) -> str:
    """Riva's output without automatic punctuation: lower case, no punctuation marks."""
    return " ".join(_PUNCTUATION.sub("", text).lower().split())


def to_alternative(transcript: Transcript) -> rasr.SpeechRecognitionAlternative:
    """A Transcript as Riva's alternative (word times in milliseconds of the stream)."""
    return rasr.SpeechRecognitionAlternative(
        transcript=transcript.text,
        confidence=transcript.confidence,
        words=[
            rasr.WordInfo(
                word=w.text,
                start_time=round(w.start_s * 1000),
                end_time=round(w.end_s * 1000),
                confidence=w.confidence,
            )
            for w in transcript.words
        ],
    )


def to_streaming_response(result: Result) -> rasr.StreamingRecognizeResponse:
    return rasr.StreamingRecognizeResponse(
        results=[
            rasr.StreamingRecognitionResult(
                alternatives=[to_alternative(result.transcript)],
                is_final=result.is_final,
                stability=1.0 if result.is_final else 0.5,
                audio_processed=result.audio_processed,
            )
        ]
    )


def to_offline_result(result: Result) -> rasr.SpeechRecognitionResult:
    return rasr.SpeechRecognitionResult(
        alternatives=[to_alternative(result.transcript)],
        audio_processed=result.audio_processed,
    )
