"""Bad requests get the right gRPC status and a message that says what was wrong,
and never disturb the other calls on the server."""

import threading

import grpc
import pytest
import riva.client
from riva.client.proto import riva_asr_pb2 as rasr
from riva.client.proto import riva_tts_pb2 as rtts
from speech_audio import CALL_CENTER_SENTENCES, silence, synthesize, word_error_rate
from speech_riva_client import LINEAR_PCM, MULAW, final_text, services, stream
from speech_server_fixture import speech_server  # noqa: F401

FLAC = riva.client.AudioEncoding.FLAC
OGGOPUS = riva.client.AudioEncoding.OGGOPUS
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
TIMEOUT_S = 60


@pytest.fixture(scope="module")
def clients(speech_server):  # noqa: F811
    return services(speech_server.address)


def status_of(call) -> tuple[grpc.StatusCode, str]:
    """Run `call()`, which must fail; its status code and message."""
    with pytest.raises(grpc.RpcError) as failure:
        call()
    return failure.value.code(), failure.value.details()


def streaming_error(asr, config: rasr.RecognitionConfig, audio: list[bytes]):
    def call():
        streaming = riva.client.StreamingRecognitionConfig(config=config)
        list(asr.streaming_response_generator(iter(audio), streaming))

    return status_of(call)


def asr_config(**fields) -> rasr.RecognitionConfig:
    fields = {"encoding": LINEAR_PCM, "sample_rate_hertz": 16000} | fields
    return riva.client.RecognitionConfig(**fields)


@pytest.mark.parametrize(
    ("fields", "audio", "code", "words"),
    [
        ({"encoding": FLAC}, b"\0\0", INVALID, "FLAC"),
        ({"encoding": 0}, b"\0\0", INVALID, "ENCODING_UNSPECIFIED"),
        ({"sample_rate_hertz": 0}, b"\0\0", INVALID, "sample rate 0"),
        ({"sample_rate_hertz": 5_000_000}, b"\0\0", INVALID, "5000000"),
        ({"encoding": MULAW, "sample_rate_hertz": 16000}, b"\0\0", INVALID, "8000"),
        ({"audio_channel_count": 64}, b"\0\0", INVALID, "channel"),
        ({}, b"\0\0\0", INVALID, "whole samples"),
        ({"model": "parakeet-1.1b"}, b"\0\0", NOT_FOUND, "parakeet-1.1b"),
        ({"language_code": "de-DE"}, b"\0\0", INVALID, "de-DE"),
    ],
)
def test_bad_recognition_requests(clients, fields, audio, code, words):
    asr, _ = clients
    config = asr_config(**fields)
    for got, message in (
        status_of(lambda: asr.offline_recognize(audio, config)),
        streaming_error(asr, config, [audio]),
    ):
        assert got == code, message
        assert words in message


def test_a_chunk_of_broken_samples_mid_stream(clients):
    asr, _ = clients
    code, message = streaming_error(asr, asr_config(), [bytes(3200), bytes(3201)])
    assert code == INVALID and "3201 bytes" in message


def test_the_first_streaming_request_must_be_the_config(speech_server):  # noqa: F811
    from riva.client.proto import riva_asr_pb2_grpc

    with grpc.insecure_channel(speech_server.address) as channel:
        stub = riva_asr_pb2_grpc.RivaSpeechRecognitionStub(channel)
        requests = iter([rasr.StreamingRecognizeRequest(audio_content=bytes(320))])
        code, message = status_of(lambda: list(stub.StreamingRecognize(requests, timeout=30)))
    assert code == INVALID and "streaming_config" in message


@pytest.mark.parametrize(
    ("fields", "code", "words"),
    [
        ({"voice_name": "English-US.Female-Nobody"}, NOT_FOUND, "English-US.Female-Nobody"),
        ({"sample_rate_hz": 0}, INVALID, "sample rate 0"),
        ({"sample_rate_hz": 1_000_000}, INVALID, "1000000"),
        ({"encoding": OGGOPUS}, INVALID, "OGGOPUS"),
        ({"encoding": MULAW, "sample_rate_hz": 22050}, INVALID, "8000"),
        ({"language_code": "fr-FR"}, INVALID, "fr-FR"),
    ],
)
def test_bad_synthesis_requests(clients, fields, code, words):
    _, tts = clients
    request = {"text": "Hello there.", "sample_rate_hz": 16000} | fields
    for call in (
        lambda: tts.synthesize(**request),
        lambda: list(tts.synthesize_online(**request)),
    ):
        got, message = status_of(call)
        assert got == code, message
        assert words in message


def test_text_over_the_limit(speech_server, clients):  # noqa: F811
    _, tts = clients
    limit = speech_server.max_text_chars
    text = ("Hello there. " * limit)[: limit + 1]
    code, message = status_of(lambda: tts.synthesize(text, sample_rate_hz=16000))
    assert code == INVALID and str(limit) in message and str(limit + 1) in message
    ok = tts.synthesize(text[:limit].strip(), sample_rate_hz=8000, encoding=MULAW)  # at the limit
    assert len(ok.audio) > 8000


def test_unknown_model_in_config_requests(clients):
    asr, tts = clients
    code, _ = status_of(
        lambda: asr.stub.GetRivaSpeechRecognitionConfig(
            rasr.RivaSpeechRecognitionConfigRequest(model_name="nope")
        )
    )
    assert code == NOT_FOUND
    code, _ = status_of(
        lambda: tts.stub.GetRivaSynthesisConfig(rtts.RivaSynthesisConfigRequest(model_name="nope"))
    )
    assert code == NOT_FOUND


def test_bad_requests_do_not_disturb_a_good_stream(clients):
    """A good recognition runs while bad ones fail around it; it still hears every word."""
    asr, tts = clients
    sentence = CALL_CENTER_SENTENCES[2]
    audio = synthesize(sentence, 16000).tobytes() + silence(1.0).tobytes()
    heard: list[str] = []
    good = threading.Thread(
        target=lambda: heard.append(final_text(stream(asr, audio, realtime=True)))
    )
    good.start()
    failures = []
    for _ in range(3):
        failures.append(streaming_error(asr, asr_config(), [bytes(3200), bytes(3)])[0])
        failures.append(status_of(lambda: tts.synthesize("Hi.", voice_name="nobody"))[0])
        failures.append(status_of(lambda: asr.offline_recognize(b"\0", asr_config()))[0])
    good.join(TIMEOUT_S)
    assert failures == [INVALID, NOT_FOUND, INVALID] * 3
    assert heard and word_error_rate([sentence], heard) <= 0.10, heard
