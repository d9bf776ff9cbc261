"""Pipecat's STT, LLM and TTS services, configured from settings.

In: the `asr`, `tts` and `llm` settings sections. Out: ready-to-use Pipecat services. The
same code serves real NIMs and the CPU stand-ins: only the endpoints differ.
"""

from pipecat.services.nvidia.tts import NvidiaTTSService
from pipecat.services.openai.llm import OpenAILLMService

from pipeline.agent.stt import NamedModelNvidiaSTTService
from pipeline.settings import AsrSettings, LlmSettings, TtsSettings

# A self-hosted Riva/NIM needs no NVIDIA cloud function id.
_NO_FUNCTION = ""
# Pipecat gives up on a TTS context that has sent no audio for stop_frame_timeout_s (3 s by
# default) and reports an error, which ends the call. The CPU speech server synthesizes a
# whole sentence before it sends any of it, and under load that takes longer than 3 s.
TTS_IDLE_TIMEOUT_S = 10.0


def build_stt(asr: AsrSettings, sample_rate: int) -> NamedModelNvidiaSTTService:
    """Streaming speech-to-text that names `asr.model` in every request."""
    return NamedModelNvidiaSTTService(
        server=asr.server,
        use_ssl=asr.use_ssl,
        sample_rate=sample_rate,
        model_function_map={"function_id": _NO_FUNCTION, "model_name": asr.model},
        settings=NamedModelNvidiaSTTService.Settings(language=asr.language),
        # Our speech server finalizes within a few hundred ms of the end of speech.
        ttfs_p99_latency=1.0,
    )


def build_tts(tts: TtsSettings) -> NvidiaTTSService:
    """Streaming text-to-speech with `tts.voice` at `tts.sample_rate`."""
    return NvidiaTTSService(
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

    async def cleanup(self) -> None:
        """Close this call's HTTP client. Pipecat 1.14 never does, and its pool keeps
        connections alive without expiry, so every finished call left its client and a
        socket to the LLM server (CLOSE_WAIT once the server timed it out) behind."""
        await super().cleanup()
        await self._client.close()


def build_llm(llm: LlmSettings, system_instruction: str) -> OpenAILLMService:
    """Chat completions (streamed, with tools) from any OpenAI-compatible endpoint."""
    return CompatibleLLMService(
        api_key=llm.api_key,
        base_url=llm.base_url,
        settings=CompatibleLLMService.Settings(
            model=llm.model,
            system_instruction=system_instruction,
            temperature=0.2,
            max_tokens=80,
        ),
        retry_timeout_secs=20.0,
    )
