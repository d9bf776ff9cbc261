"""Small wrappers over NVIDIA's own `riva.client`, as a real client would use it."""

import time
from collections.abc import Iterator

import riva.client
from riva.client.proto import riva_asr_pb2 as rasr

LINEAR_PCM = riva.client.AudioEncoding.LINEAR_PCM
MULAW = riva.client.AudioEncoding.MULAW
ALAW = riva.client.AudioEncoding.ALAW
BYTES_PER_SAMPLE = {LINEAR_PCM: 2, MULAW: 1, ALAW: 1}


def services(address: str) -> tuple[riva.client.ASRService, riva.client.SpeechSynthesisService]:
    auth = riva.client.Auth(uri=address, use_ssl=False)
    return riva.client.ASRService(auth), riva.client.SpeechSynthesisService(auth)


def recognition_config(
    rate: int = 16000, encoding: int = LINEAR_PCM, punctuation: bool = True, **fields: object
) -> rasr.RecognitionConfig:
    return riva.client.RecognitionConfig(
        encoding=encoding,
        sample_rate_hertz=rate,
        language_code="en-US",
        max_alternatives=1,
        enable_automatic_punctuation=punctuation,
        **fields,
    )


def chunks(audio: bytes, rate: int, encoding: int, chunk_ms: int = 100) -> list[bytes]:
    size = rate * chunk_ms // 1000 * BYTES_PER_SAMPLE[encoding]
    return [audio[i : i + size] for i in range(0, len(audio), size)]


def paced(pieces: list[bytes], chunk_ms: int) -> Iterator[bytes]:
    """Send chunks in real time, as a phone call would."""
    for piece in pieces:
        yield piece
        time.sleep(chunk_ms / 1000)


def stream(
    asr: riva.client.ASRService,
    audio: bytes,
    rate: int = 16000,
    encoding: int = LINEAR_PCM,
    interim: bool = False,
    realtime: bool = False,
    chunk_ms: int = 100,
    **config_fields: object,
) -> list[rasr.StreamingRecognitionResult]:
    """Stream `audio` through StreamingRecognize; every result the server sent, in order."""
    config = riva.client.StreamingRecognitionConfig(
        config=recognition_config(rate, encoding, **config_fields), interim_results=interim
    )
    pieces = chunks(audio, rate, encoding, chunk_ms)
    source = paced(pieces, chunk_ms) if realtime else iter(pieces)
    results = []
    for response in asr.streaming_response_generator(source, config):
        results.extend(response.results)
    return results


def final_text(results: list[rasr.StreamingRecognitionResult]) -> str:
    return " ".join(r.alternatives[0].transcript for r in results if r.is_final).strip()
