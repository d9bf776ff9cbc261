"""Pipecat's STT, LLM and TTS services, configured from settings.

In: the `asr`, `tts` and `llm` settings sections. Out: ready-to-use Pipecat services. The
same code serves real NIMs and the CPU stand-ins: only the endpoints differ. A failed LLM
request (no connection, a 5xx, no response within LLM_RESPONSE_TIMEOUT_S, the stream broken
before any of the answer was pushed) is retried once after agent.retry_backoff_s; only the
retry's failure reaches the call as an error (pipeline/agent/service_failure.py).
"""

import asyncio
import logging

import openai
from openai import AsyncStream
from openai.types.chat import ChatCompletionChunk
from pipecat.frames.frames import Frame, FunctionCallsStartedFrame, LLMTextFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection
from pipecat.services.nvidia.tts import NvidiaTTSService
from pipecat.services.openai.llm import OpenAILLMService

from pipeline.agent.first_clause import FirstClauseAggregator
from pipeline.agent.stt import NamedModelNvidiaSTTService
from pipeline.settings import AsrSettings, LlmSettings, TtsSettings

# A self-hosted Riva/NIM needs no NVIDIA cloud function id.
_NO_FUNCTION = ""
# Pipecat gives up on a TTS context that has sent no audio for stop_frame_timeout_s (3 s by
# default) and reports an error, which ends the call. The CPU speech server synthesizes a
# whole sentence before it sends any of it, and under load that takes longer than 3 s.
TTS_IDLE_TIMEOUT_S = 10.0
# An LLM request that has not begun to answer by then counts as failed (and is retried once).
LLM_RESPONSE_TIMEOUT_S = 20.0


def transient(exc: Exception) -> bool:
    """Whether a retry may cure `exc`: the server unreachable or restarting, a 5xx, a 408 or
    429, a timeout, a cut stream; not the server refusing the request itself (other 4xx)."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500 or exc.status_code in (408, 429)
    return True


log = logging.getLogger(__name__)


def build_stt(
    asr: AsrSettings, sample_rate: int, retry_backoff_s: float = 0.5, retry_window_s: float = 10.0
) -> NamedModelNvidiaSTTService:
    """Streaming speech-to-text that names `asr.model` in every request and asks for finals
    after `asr.stop_history_ms` of silence, expected within `asr.final_within_s` of the end of
    speech; a lost stream is reconnected once after `retry_backoff_s` (pipeline/agent/stt.py)."""
    return NamedModelNvidiaSTTService(
        retry_backoff_s=retry_backoff_s,
        retry_window_s=retry_window_s,
        server=asr.server,
        use_ssl=asr.use_ssl,
        sample_rate=sample_rate,
        model_function_map={"function_id": _NO_FUNCTION, "model_name": asr.model},
        stop_history=asr.stop_history_ms,
        settings=NamedModelNvidiaSTTService.Settings(language=asr.language),
        ttfs_p99_latency=asr.final_within_s,
    )


class FirstClauseNvidiaTTSService(NvidiaTTSService):
    """Pipecat's Riva TTS that sends each answer's first clause to synthesis as soon as the LLM
    has written it (pipeline/agent/first_clause.py), then whole sentences. Pipecat 1.14 takes
    no aggregator argument, so this replaces the one it built."""

    def __init__(self, *, first_clause_words: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        if first_clause_words > 0:
            self._text_aggregator = FirstClauseAggregator(
                min_words=first_clause_words, language=self._text_aggregator.language
            )


def build_tts(tts: TtsSettings) -> NvidiaTTSService:
    """Streaming text-to-speech with `tts.voice` at `tts.sample_rate`; each answer's first
    clause of at least `tts.first_clause_words` words is spoken before its sentence ends (0:
    whole sentences only)."""
    return FirstClauseNvidiaTTSService(
        first_clause_words=tts.first_clause_words,
        server=tts.server,
        use_ssl=tts.use_ssl,
        sample_rate=tts.sample_rate,
        model_function_map={"function_id": _NO_FUNCTION, "model_name": ""},
        settings=NvidiaTTSService.Settings(voice=tts.voice, language=tts.language),
        stop_frame_timeout_s=TTS_IDLE_TIMEOUT_S,
    )


class CompatibleLLMService(OpenAILLMService):
    """OpenAI's chat API as OpenAI-compatible servers take it: Pipecat writes its own prompts
    (an empty caller turn, a change of tools) as "developer" messages, which llama.cpp's
    server refuses (HTTP 500), so they go as "user" messages."""

    supports_developer_role = False

    def __init__(self, *, retry_backoff_s: float = 0.5, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._retry_backoff_s = retry_backoff_s
        self._answered = False  # this request has pushed part of an answer

    async def push_frame(self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM):
        if isinstance(frame, (LLMTextFrame, FunctionCallsStartedFrame)):
            self._answered = True
        await super().push_frame(frame, direction)

    async def get_chat_completions(self, context: LLMContext) -> AsyncStream[ChatCompletionChunk]:
        """Pipecat's request, failed (TimeoutError) when it has not begun within the limit."""
        request = super().get_chat_completions(context)
        return await asyncio.wait_for(request, self._retry_timeout_secs)

    async def _process_context(self, context: LLMContext) -> None:
        """Pipecat's request and stream; one retry after a transient failure that came
        before any of the answer was pushed (a retry then cannot repeat words)."""
        self._answered = False
        try:
            await super()._process_context(context)
        except Exception as exc:
            if self._answered or not transient(exc):
                raise
            log.warning(
                "LLM request failed (%s); retrying once in %.1f s",
                type(exc).__name__,
                self._retry_backoff_s,
            )
            await asyncio.sleep(self._retry_backoff_s)
            await super()._process_context(context)

    async def cleanup(self) -> None:
        """Close this call's HTTP client. Pipecat 1.14 never does, and its pool keeps
        connections alive without expiry, so every finished call left its client and a
        socket to the LLM server (CLOSE_WAIT once the server timed it out) behind."""
        await super().cleanup()
        await self._client.close()


def build_llm(
    llm: LlmSettings, system_instruction: str, retry_backoff_s: float = 0.5
) -> OpenAILLMService:
    """Chat completions (streamed, with tools) from any OpenAI-compatible endpoint; a failed
    request is retried once after `retry_backoff_s`."""
    return CompatibleLLMService(
        retry_backoff_s=retry_backoff_s,
        api_key=llm.api_key,
        base_url=llm.base_url,
        settings=CompatibleLLMService.Settings(
            model=llm.model,
            system_instruction=system_instruction,
            temperature=0.2,
            max_tokens=80,
        ),
        retry_timeout_secs=LLM_RESPONSE_TIMEOUT_S,
    )
