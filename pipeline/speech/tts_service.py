"""Riva's RivaSpeechSynthesis service: Synthesize, SynthesizeOnline, and its config.

In: SynthesizeSpeechRequest (text, voice, language, encoding, sample rate). Out: audio in the
requested encoding and rate: all at once (`Synthesize`) or one chunk per sentence as soon as
it is spoken (`SynthesizeOnline`, bidirectional in the pinned client: every request in the
stream is spoken in turn). Every synthesis holds one of the server's TTS slots
(speech_server.max_tts_streams) while it runs, a pool apart from ASR's.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import grpc
import numpy as np
from riva.client.proto import riva_tts_pb2 as rtts
from riva.client.proto import riva_tts_pb2_grpc

from pipeline.speech.audio import LINEAR_PCM, AudioFormat, audio_format, encode, resample
from pipeline.speech.engines import Engines
from pipeline.speech.errors import RequestError, abort_on_error, invalid, not_found
from pipeline.speech.slots import StreamSlots
from pipeline.speech.tts_engine import LANGUAGE, PiperEngine


@dataclass(frozen=True)
class Speech:
    """A checked request: what to say and how to send it back."""

    text: str
    fmt: AudioFormat


class TtsServicer(riva_tts_pb2_grpc.RivaSpeechSynthesisServicer):
    def __init__(self, engines: Engines, slots: StreamSlots, max_text_chars: int) -> None:
        self._engines = engines
        self._slots = slots
        self._max_text_chars = max_text_chars

    def Synthesize(
        self, request: rtts.SynthesizeSpeechRequest, context: grpc.ServicerContext
    ) -> rtts.SynthesizeSpeechResponse:
        with abort_on_error(context, "Synthesize"):
            tts = self._engines.get().tts
            with self._slots.hold("Synthesize", context):
                speech = self._check(request, tts)
                audio = b"".join(self._speak(tts, speech))
                meta = rtts.SynthesizeSpeechResponseMetadata(
                    text=request.text, processed_text=speech.text
                )
                return rtts.SynthesizeSpeechResponse(audio=audio, meta=meta)
        return rtts.SynthesizeSpeechResponse()  # only when the client has gone away

    def SynthesizeOnline(
        self,
        request_iterator: Iterable[rtts.SynthesizeSpeechRequest],
        context: grpc.ServicerContext,
    ) -> Iterator[rtts.SynthesizeSpeechResponse]:
        with abort_on_error(context, "SynthesizeOnline"):
            tts = self._engines.get().tts
            with self._slots.hold("SynthesizeOnline", context):
                for request in request_iterator:
                    speech = self._check(request, tts)
                    for chunk in self._speak(tts, speech):
                        yield rtts.SynthesizeSpeechResponse(audio=chunk)

    def GetRivaSynthesisConfig(
        self, request: rtts.RivaSynthesisConfigRequest, context: grpc.ServicerContext
    ) -> rtts.RivaSynthesisConfigResponse:
        with abort_on_error(context, "GetRivaSynthesisConfig"):
            tts = self._engines.get().tts
            if request.model_name and request.model_name != tts.model_name:
                raise not_found(
                    f"TTS model '{request.model_name}' does not exist; try '{tts.model_name}'"
                )
            config = rtts.RivaSynthesisConfigResponse.Config(
                model_name=tts.model_name,
                parameters={
                    "language_code": LANGUAGE,
                    "voice_name": tts.name.voice,
                    "subvoices": f"{tts.name.subvoice}:0",
                    "sample_rate": str(tts.sample_rate),
                    "type": "online",
                },
            )
            return rtts.RivaSynthesisConfigResponse(model_config=[config])
        return rtts.RivaSynthesisConfigResponse()  # only when the client has gone away

    def _check(self, request: rtts.SynthesizeSpeechRequest, tts: PiperEngine) -> Speech:
        """Validate one request; raise RequestError naming the first problem found."""
        if not tts.name.matches(request.voice_name):
            raise not_found(
                f"voice '{request.voice_name}' does not exist; this server has '{tts.name.full}'"
            )
        language = request.language_code
        if language and language.lower() not in (LANGUAGE.lower(), "en"):
            raise invalid(f"language_code '{language}': voice '{tts.name.full}' speaks {LANGUAGE}")
        if len(request.text) > self._max_text_chars:
            raise invalid(
                f"text is {len(request.text)} characters; the limit is {self._max_text_chars} "
                "(settings.speech_server.max_text_chars): split it into sentences"
            )
        if request.HasField("zero_shot_data") and request.zero_shot_data.audio_prompt:
            raise RequestError(
                grpc.StatusCode.UNIMPLEMENTED, "zero-shot voice cloning is not supported here"
            )
        encoding = request.encoding or LINEAR_PCM  # unset: Riva's default, 16-bit PCM
        return Speech(request.text.strip(), audio_format(encoding, request.sample_rate_hz))

    def _speak(self, tts: PiperEngine, speech: Speech) -> Iterator[bytes]:
        """Audio for each sentence, in the requested rate and encoding."""
        if not speech.text:
            return
        for sentence in tts.sentences(speech.text):
            audio = resample(sentence, tts.sample_rate, speech.fmt.sample_rate)
            yield encode(speech.fmt, audio.astype(np.float32, copy=False))
