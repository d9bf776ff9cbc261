"""Early final transcripts: Whisper starts when speech stops, the final comes when endpointing
closes the utterance, and a guess that speech outdated is never used.

The real Whisper and Silero models, fed through the speech server's own Recognition."""

import functools
import time

import numpy as np
from riva.client.proto import riva_asr_pb2 as rasr
from speech_audio import CALL_CENTER_SENTENCES, silence, synthesize, word_error_rate

from pipeline.settings import SpeechServerSettings
from pipeline.speech.asr_engine import WhisperEngine
from pipeline.speech.asr_stream import Recognition, RecognitionOptions, Result
from pipeline.speech.audio import LINEAR_PCM, AudioFormat
from pipeline.speech.endpointing import Endpointing
from pipeline.speech.vad import SileroVad

CHUNK = 320  # samples: 20 ms at 16 kHz, as Pipecat sends them
STOP_HISTORY_MS = 320  # what Pipecat's NvidiaSTTService asks for
EARLY_FINAL_MS = SpeechServerSettings().early_final_ms


@functools.cache
def engines() -> tuple[WhisperEngine, SileroVad]:
    """Loaded and warm (the first Whisper call is slow), as the server has them."""
    whisper = WhisperEngine()
    whisper.transcribe(synthesize("Hello.").astype(np.float32) / 32768)
    return whisper, SileroVad()


def recognition(early_final_ms: int = EARLY_FINAL_MS) -> Recognition:
    options = RecognitionOptions(
        fmt=AudioFormat(LINEAR_PCM, 16000, 1),
        endpointing=Endpointing.from_proto(rasr.EndpointingConfig(stop_history=STOP_HISTORY_MS)),
        punctuation=True,
    )
    return Recognition(*engines(), options, early_final_ms)


def feed(rec: Recognition, audio: np.ndarray, realtime: bool = False) -> list[tuple[float, Result]]:
    """Feed 20 ms chunks (in real time if asked); each result with the seconds that the
    chunk which produced it took to feed (the wait between endpointing's close and it)."""
    started = time.perf_counter()
    results = []
    for i, at in enumerate(range(0, audio.size, CHUNK)):
        if realtime:
            time.sleep(max(0.0, started + i * CHUNK / 16000 - time.perf_counter()))
        fed = time.perf_counter()
        results += [
            (time.perf_counter() - fed, r) for r in rec.feed(audio[at : at + CHUNK].tobytes())
        ]
    results += [(0.0, r) for r in rec.finish()]
    return results


def test_the_final_uses_the_transcript_started_when_speech_stopped(monkeypatch):
    """Fed in real time, the final comes sooner after endpointing closes the utterance than a
    Whisper run on it takes (by up to the 288 ms of the closing pause), with the same text."""
    sentence = CALL_CENTER_SENTENCES[3]  # Whisper's short window (no repetition fallback)
    audio = np.concatenate([synthesize(sentence), silence(0.8)])
    rec = recognition()
    results = feed(rec, audio, realtime=True)
    assert [r.is_final for _, r in results] == [True]
    assert rec.early.started == 1 and rec.early.used == 1
    ((early_wait, early),) = results

    whisper, _ = engines()
    monkeypatch.setattr(type(whisper), "spare", property(lambda self: False))
    plain = recognition()  # no decoder to spare: no guess, Whisper runs at the close
    ((whisper_s, final),) = feed(plain, audio)
    assert plain.early.started == 0

    assert early_wait < max(whisper_s / 2, whisper_s - 0.2), (early_wait, whisper_s)
    assert word_error_rate([sentence], [early.transcript.text]) <= 0.10
    assert word_error_rate([final.transcript.text], [early.transcript.text]) == 0.0
    assert early.audio_processed == final.audio_processed  # the same close: one final, on time


def test_speech_after_a_short_pause_outdates_the_guess():
    """A pause shorter than stop_history starts a guess; the speech after it drops it, and the
    one final covers both parts."""
    first, second = "I would like to check", "the status of my order please."
    audio = np.concatenate([synthesize(first), silence(0.05), synthesize(second), silence(0.6)])
    rec = recognition()
    results = [r for _, r in feed(rec, audio, realtime=True)]  # the first guess ends in time
    assert [r.is_final for r in results] == [True]
    assert rec.early.started >= 2 and rec.early.used == 1
    assert word_error_rate([f"{first} {second}"], [results[0].transcript.text]) <= 0.10


def test_early_final_ms_0_transcribes_only_at_the_close():
    sentence = CALL_CENTER_SENTENCES[4]
    rec = recognition(early_final_ms=0)
    results = [r for _, r in feed(rec, np.concatenate([synthesize(sentence), silence(0.6)]))]
    assert [r.is_final for r in results] == [True] and rec.early.started == 0
    assert word_error_rate([sentence], [results[0].transcript.text]) <= 0.10
