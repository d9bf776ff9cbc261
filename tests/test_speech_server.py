"""NVIDIA's riva.client against a live `switchboard speech-server`: speech round trips,
the call-center encodings, a real human recording, configs and health."""

import functools

import numpy as np
import pytest
import riva.client
from riva.client.proto import riva_asr_pb2 as rasr
from riva.client.proto import riva_tts_pb2 as rtts
from speech_audio import (
    BECKETT_TEXT,
    CALL_CENTER_SENTENCES,
    beckett,
    silence,
    word_error_rate,
)
from speech_riva_client import ALAW, LINEAR_PCM, MULAW, final_text, services, stream
from speech_server_fixture import health_status, speech_server  # noqa: F401

from kernels import g711

VOICE = "English-US.Male-Joe"


@pytest.fixture(scope="module")
def clients(speech_server):  # noqa: F811
    return services(speech_server.address)


@functools.cache
def _spoken(address: str, text: str, rate: int, encoding: int) -> bytes:
    _, tts = services(address)
    response = tts.synthesize(text, VOICE, "en-US", encoding=encoding, sample_rate_hz=rate)
    return response.audio


def spoken(server, text: str, rate: int = 16000, encoding: int = LINEAR_PCM) -> bytes:
    """The server's own speech for `text` (cached: each sentence is synthesized once)."""
    return _spoken(server.address, text, rate, encoding)


def test_health_went_from_not_serving_to_serving(speech_server):  # noqa: F811
    assert speech_server.health_seen[-1] == "SERVING"
    assert "NOT_SERVING" in speech_server.health_seen, speech_server.health_seen
    for service in ("nvidia.riva.asr.RivaSpeechRecognition", "nvidia.riva.tts.RivaSpeechSynthesis"):
        assert health_status(speech_server.address, service) == "SERVING"


def test_configs_list_the_model_and_voice(clients):
    asr, tts = clients
    asr_config = asr.stub.GetRivaSpeechRecognitionConfig(rasr.RivaSpeechRecognitionConfigRequest())
    assert [c.model_name for c in asr_config.model_config] == ["whisper-tiny.en"]
    tts_config = tts.stub.GetRivaSynthesisConfig(rtts.RivaSynthesisConfigRequest())
    (voice,) = tts_config.model_config
    subvoices = [s.split(":")[0] for s in voice.parameters["subvoices"].split(",")]
    assert [f"{voice.parameters['voice_name']}.{s}" for s in subvoices] == [VOICE]
    assert voice.parameters["language_code"] == "en-US"


@pytest.mark.parametrize(
    ("rate", "encoding", "bytes_per_sample"),
    [(22050, LINEAR_PCM, 2), (16000, LINEAR_PCM, 2), (44100, LINEAR_PCM, 2), (8000, MULAW, 1)],
)
def test_synthesize_answers_at_the_requested_rate(speech_server, rate, encoding, bytes_per_sample):  # noqa: F811
    audio = spoken(speech_server, CALL_CENTER_SENTENCES[0], rate, encoding)
    seconds = len(audio) / bytes_per_sample / rate
    assert 2.0 < seconds < 8.0, seconds  # a 12-word sentence, whatever the rate


def test_synthesize_online_streams_sentence_chunks(clients):
    _, tts = clients
    text = "Your order has shipped. It will arrive on Tuesday. Is there anything else?"
    responses = list(tts.synthesize_online(text, VOICE, sample_rate_hz=16000))
    assert len(responses) == 3  # one chunk per sentence
    assert all(len(r.audio) > 16000 for r in responses)


def test_synthesize_online_speaks_every_request_of_one_stream(clients):
    """The pinned client's SynthesizeOnline is bidirectional: several texts, one stream."""
    _, tts = clients
    responses = list(tts.synthesize_online(["Hello there.", "Goodbye now."], VOICE))
    assert len(responses) == 2 and all(len(r.audio) > 22050 for r in responses)


def test_round_trip_word_error_rate(speech_server, clients):  # noqa: F811
    asr, _ = clients
    heard = []
    for sentence in CALL_CENTER_SENTENCES:
        audio = spoken(speech_server, sentence) + silence(1.0).tobytes()
        heard.append(final_text(stream(asr, audio)))
    wer = word_error_rate(list(CALL_CENTER_SENTENCES), heard)
    assert wer <= 0.10, list(zip(CALL_CENTER_SENTENCES, heard, strict=True))


@pytest.mark.parametrize("encoding", [MULAW, ALAW])
def test_call_center_g711_round_trip(speech_server, clients, encoding):  # noqa: F811
    """8 kHz telephone audio both ways: the server speaks G.711 and hears it back."""
    asr, _ = clients
    encode = g711.ulaw_encode if encoding == MULAW else g711.alaw_encode
    pause = encode(silence(1.0, 8000)).tobytes()
    sentences = CALL_CENTER_SENTENCES[:5]
    heard = [
        final_text(stream(asr, spoken(speech_server, s, 8000, encoding) + pause, 8000, encoding))
        for s in sentences
    ]
    assert word_error_rate(list(sentences), heard) <= 0.10, heard


def test_human_recording_streamed_in_real_time(clients):
    asr, _ = clients
    audio, rate = beckett()
    results = stream(asr, audio.tobytes(), rate, interim=True, realtime=True)
    finals = [r for r in results if r.is_final]
    interims = [r for r in results if not r.is_final]
    assert interims, "no interim results while speech went on"
    assert finals and results[-1].is_final, "every utterance must end in a final result"
    assert word_error_rate([BECKETT_TEXT], [final_text(results)]) <= 0.15, final_text(results)
    processed = [r.audio_processed for r in results]
    assert processed == sorted(processed) and 0 < processed[-1] <= len(audio) / rate + 0.05


def test_recognize_a_wav_file_at_44k(speech_server, clients):  # noqa: F811
    """Offline Recognize with a WAV header and no format in the config (Pipecat's segmented STT)."""
    import io
    import wave

    asr, _ = clients
    sentence = CALL_CENTER_SENTENCES[3]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(44100)
        wav.writeframes(spoken(speech_server, sentence, 44100))
    response = asr.offline_recognize(buffer.getvalue(), riva.client.RecognitionConfig())
    text = " ".join(r.alternatives[0].transcript for r in response.results)
    assert word_error_rate([sentence], [text]) <= 0.10, text
    assert text == text.lower() and "." not in text  # punctuation off unless asked for


def test_stereo_and_word_offsets(speech_server, clients):  # noqa: F811
    asr, _ = clients
    mono = np.frombuffer(spoken(speech_server, "Please hold the line.", 16000), dtype=np.int16)
    lead = 16000  # one second of silence before the words
    mono = np.concatenate([silence(1.0), mono])
    stereo = np.stack([mono, mono], axis=1).reshape(-1)
    config = riva.client.RecognitionConfig(
        encoding=LINEAR_PCM,
        sample_rate_hertz=16000,
        audio_channel_count=2,
        enable_word_time_offsets=True,
    )
    (result,) = asr.offline_recognize(stereo.tobytes(), config).results
    words = result.alternatives[0].words
    assert [w.word for w in words] == ["please", "hold", "the", "line"]
    assert lead / 16 - 300 < words[0].start_time < lead / 16 + 500  # milliseconds in the stream
    assert all(a.end_time <= b.start_time + 1 for a, b in zip(words, words[1:], strict=False))


def test_endpointing_splits_utterances_on_silence(speech_server, clients):  # noqa: F811
    asr, _ = clients
    first, second = CALL_CENTER_SENTENCES[1], CALL_CENTER_SENTENCES[4]
    gap = silence(1.2).tobytes()
    audio = spoken(speech_server, first) + gap + spoken(speech_server, second) + gap
    short = stream(asr, audio, endpointing_config=rasr.EndpointingConfig(stop_history=500))
    assert [r.is_final for r in short] == [True, True]
    long_stop = stream(asr, audio, endpointing_config=rasr.EndpointingConfig(stop_history=2000))
    assert [r.is_final for r in long_stop] == [True]  # the gap is shorter than stop_history
    assert word_error_rate([first + " " + second], [final_text(long_stop)]) <= 0.10


def test_empty_audio_is_an_empty_result(clients):
    asr, tts = clients
    assert list(asr.offline_recognize(b"", _config()).results) == []
    assert stream(asr, b"") == []
    assert stream(asr, silence(2.0).tobytes()) == []
    assert tts.synthesize("", VOICE, sample_rate_hz=16000).audio == b""


def _config() -> rasr.RecognitionConfig:
    return riva.client.RecognitionConfig(encoding=LINEAR_PCM, sample_rate_hertz=16000)
