"""Riva's RivaSpeechRecognition service: StreamingRecognize, Recognize, and its config.

In: Riva requests (a RecognitionConfig and audio bytes). Out: Riva responses, or a gRPC
status with a message that says what was wrong with the request. Every recognition holds
one of the server's ASR slots (speech_server.max_streams) while it runs.
"""

from collections.abc import Iterable, Iterator

import grpc
from riva.client.proto import riva_asr_pb2 as rasr
from riva.client.proto import riva_asr_pb2_grpc

from pipeline.speech.asr_engine import RATE
from pipeline.speech.asr_stream import (
    Recognition,
    RecognitionOptions,
    to_offline_result,
    to_streaming_response,
)
from pipeline.speech.audio import AudioFormat, audio_format
from pipeline.speech.endpointing import Endpointing
from pipeline.speech.engines import Engines
from pipeline.speech.errors import abort_on_error, invalid, not_found
from pipeline.speech.slots import StreamSlots
from pipeline.speech.wav import split_wav

LANGUAGE = "en-US"


def recognition_options(
    config: rasr.RecognitionConfig,
    model: str,
    fmt: AudioFormat | None = None,
    interim_results: bool = False,
) -> RecognitionOptions:
    """Check a RecognitionConfig; `fmt` overrides its audio fields (from a WAV header)."""
    if config.model and config.model != model:
        raise not_found(f"ASR model '{config.model}' does not exist; this server has '{model}'")
    language = config.language_code
    if language and not language.lower().startswith("en"):
        raise invalid(f"language_code '{language}' is not served; '{model}' speaks {LANGUAGE}")
    if fmt is None:
        fmt = audio_format(config.encoding, config.sample_rate_hertz, config.audio_channel_count)
    phrases = [p for context in config.speech_contexts for p in context.phrases]
    return RecognitionOptions(
        fmt=fmt,
        endpointing=Endpointing.from_proto(config.endpointing_config),
        interim_results=interim_results,
        punctuation=config.enable_automatic_punctuation,
        word_offsets=config.enable_word_time_offsets,
        hotwords=" ".join(phrases) or None,
    )


class AsrServicer(riva_asr_pb2_grpc.RivaSpeechRecognitionServicer):
    def __init__(self, engines: Engines, slots: StreamSlots, early_final_ms: int = 0) -> None:
        """`early_final_ms`: see speech_server.early_final_ms (0: finals only at the close)."""
        self._engines = engines
        self._slots = slots
        self._early_final_ms = early_final_ms

    def StreamingRecognize(
        self,
        request_iterator: Iterable[rasr.StreamingRecognizeRequest],
        context: grpc.ServicerContext,
    ) -> Iterator[rasr.StreamingRecognizeResponse]:
        """First request: streaming_config. Then audio_content chunks until the client closes."""
        with abort_on_error(context, "StreamingRecognize"):
            engines = self._engines.get()
            with self._slots.hold("StreamingRecognize", context):
                requests = iter(request_iterator)
                first = next(requests, None)
                if first is None:
                    return
                if not first.HasField("streaming_config"):
                    raise invalid("the first StreamingRecognizeRequest must carry streaming_config")
                streaming = first.streaming_config
                options = recognition_options(
                    streaming.config, engines.asr_model, interim_results=streaming.interim_results
                )
                recognition = Recognition(engines.asr, engines.vad, options, self._early_final_ms)
                for request in requests:
                    if request.HasField("streaming_config"):
                        raise invalid("streaming_config is allowed only in the first request")
                    for result in recognition.feed(request.audio_content):
                        yield to_streaming_response(result)
                for result in recognition.finish():
                    yield to_streaming_response(result)

    def Recognize(
        self, request: rasr.RecognizeRequest, context: grpc.ServicerContext
    ) -> rasr.RecognizeResponse:
        """The whole audio at once (raw samples as configured, or a WAV file)."""
        with abort_on_error(context, "Recognize"):
            engines = self._engines.get()
            with self._slots.hold("Recognize", context):
                wav = split_wav(request.audio)
                fmt, audio = wav if wav is not None else (None, request.audio)
                options = recognition_options(request.config, engines.asr_model, fmt)
                recognition = Recognition(engines.asr, engines.vad, options)
                results = [*recognition.feed(audio), *recognition.finish()]
                return rasr.RecognizeResponse(results=[to_offline_result(r) for r in results])
        return rasr.RecognizeResponse()  # reached only when the client has gone away

    def GetRivaSpeechRecognitionConfig(
        self, request: rasr.RivaSpeechRecognitionConfigRequest, context: grpc.ServicerContext
    ) -> rasr.RivaSpeechRecognitionConfigResponse:
        with abort_on_error(context, "GetRivaSpeechRecognitionConfig"):
            model = self._engines.get().asr_model
            if request.model_name and request.model_name != model:
                raise not_found(f"ASR model '{request.model_name}' does not exist; try '{model}'")
            config = rasr.RivaSpeechRecognitionConfigResponse.Config(
                model_name=model,
                parameters={
                    "language_code": LANGUAGE,
                    "type": "online",
                    "streaming": "true",
                    "offline": "true",
                    "sample_rate": str(RATE),
                    "engine": "faster-whisper (Whisper tiny.en, int8, CPU)",
                },
            )
            return rasr.RivaSpeechRecognitionConfigResponse(model_config=[config])
        return rasr.RivaSpeechRecognitionConfigResponse()  # only when the client has gone away
