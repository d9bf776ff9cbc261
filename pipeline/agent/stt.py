"""Pipecat's streaming NvidiaSTTService, but it asks the server for the configured ASR model.

Stock Pipecat 1.14 always sends `RecognitionConfig.model = ""`, so a Riva/NIM server with
several ASR models answers with its default one. This subclass sends the model name given
in `model_function_map["model_name"]` (our `asr.model` setting), and it reports a stream lost
because the server is unreachable as an ErrorFrame (stock Pipecat only logs it and
reconnects), so the call can apologize (pipeline/agent/service_failure.py). At the end of
the call it closes its gRPC channel, as Pipecat's NvidiaTTSService does (the STT service
leaves it to the garbage collector, which may come long after the call).
"""

from pipecat.services.nvidia.stt import NvidiaSTTService
from pipecat.utils.errors import ErrorCategory


class NamedModelNvidiaSTTService(NvidiaSTTService):
    """NvidiaSTTService whose streaming requests name the configured model."""

    def _create_recognition_config(self):
        config = super()._create_recognition_config()
        config.config.model = self._settings.model or ""
        return config

    async def cleanup(self) -> None:
        """Stop streaming, then close the channel to the ASR server."""
        await super().cleanup()
        if self._asr_service is not None:
            self._asr_service.auth.channel.close()
            self._asr_service = None

    async def _handle_stream_drop(self, iterator: object, reason: str) -> None:
        """Report a lost ASR server as an error of this service, then let Pipecat reconnect."""
        if "UNAVAILABLE" in reason and iterator is self._audio_iterator:
            await self.push_error(f"ASR stream lost: {reason}", category=ErrorCategory.CONNECTIVITY)
        await super()._handle_stream_drop(iterator, reason)
