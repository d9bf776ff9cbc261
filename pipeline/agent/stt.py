"""Pipecat's streaming NvidiaSTTService, but it asks the server for the configured ASR model.

Stock Pipecat 1.14 always sends `RecognitionConfig.model = ""`, so a Riva/NIM server with
several ASR models answers with its default one. This subclass sends the model name given
in `model_function_map["model_name"]` (our `asr.model` setting). A stream lost because the
server is unreachable (a restart, a reset) is reconnected once after `retry_backoff_s`, the
audio meanwhile kept for the new stream (Pipecat buffers it); when the new stream is lost
too, within `retry_window_s` of that reconnect, the server stays down: that is reported as an
ErrorFrame (stock Pipecat only logs it and reconnects), so the call can apologize
(pipeline/agent/service_failure.py). At the end of the call it closes its gRPC channel, as
Pipecat's NvidiaTTSService does (the STT service leaves it to the garbage collector, which
may come long after the call).
"""

import asyncio
import logging
import time

from pipecat.services.nvidia.stt import NvidiaSTTService
from pipecat.utils.errors import ErrorCategory

log = logging.getLogger(__name__)


class NamedModelNvidiaSTTService(NvidiaSTTService):
    """NvidiaSTTService whose streaming requests name the configured model."""

    def __init__(
        self, *, retry_backoff_s: float = 0.5, retry_window_s: float = 10.0, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)
        self._retry_backoff_s = retry_backoff_s
        self._retry_window_s = retry_window_s
        self._retried_at: float | None = None  # the last reconnect after a loss (monotonic)

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
        """A lost ASR server: reconnect once after the backoff; lost again within the
        window, report it as an error of this service (Pipecat keeps reconnecting)."""
        if "UNAVAILABLE" not in reason or iterator is not self._audio_iterator:
            await super()._handle_stream_drop(iterator, reason)
            return
        retried = self._retried_at
        if retried is not None and time.monotonic() - retried < self._retry_window_s:
            self._retried_at = None
            await self.push_error(f"ASR stream lost: {reason}", category=ErrorCategory.CONNECTIVITY)
            await super()._handle_stream_drop(iterator, reason)
            return
        log.warning("ASR stream lost (%s); reconnecting in %.1f s", reason, self._retry_backoff_s)
        await asyncio.sleep(self._retry_backoff_s)
        self._retried_at = time.monotonic()
        await super()._handle_stream_drop(iterator, reason)
