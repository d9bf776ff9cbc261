"""Prefill a call's opening context on the LLM while the greeting plays.

A call's first answer otherwise waits for the LLM server to prefill the system prompt and the
greeting (about 125 tokens with the CPU stand-in) when no earlier request left them in its
cache. Servers that reuse a prompt prefix (the CPU llm-server, vLLM/NIM prefix caching) then
only evaluate the caller's words.

In: the LLM endpoint settings, the call's system prompt and greeting and its tools (OpenAI
format), exactly as the first request will carry them (system message, then the greeting as
the assistant's message; servers that render tools into the prompt put them there). Out: one
chat completion of one token, its answer dropped; any failure is logged and ignored (the call
goes on without the head start).
"""

import logging

from openai import AsyncOpenAI, OpenAIError
from openai.types.chat import ChatCompletionToolParam

from pipeline.settings import LlmSettings

log = logging.getLogger(__name__)

WARMUP_TIMEOUT_S = 30.0


def opening_messages(system_prompt: str, greeting: str) -> list[dict[str, str]]:
    """The messages every first request of a call starts with."""
    messages = [{"role": "system", "content": system_prompt}]
    return messages + ([{"role": "assistant", "content": greeting}] if greeting else [])


async def warm_prefix(
    llm: LlmSettings,
    system_prompt: str,
    greeting: str,
    tools: list[ChatCompletionToolParam] | None = None,
) -> bool:
    """Ask the LLM for one token after the call's opening messages (and its tools, when
    given); True when it answered."""
    client = AsyncOpenAI(
        base_url=llm.base_url, api_key=llm.api_key, max_retries=0, timeout=WARMUP_TIMEOUT_S
    )
    try:
        await client.chat.completions.create(
            model=llm.model,
            messages=opening_messages(system_prompt, greeting),  # type: ignore[arg-type]
            **({"tools": tools} if tools else {}),
            max_tokens=1,
            temperature=0.0,
        )
        return True
    except OpenAIError as exc:
        log.debug("LLM warm-up failed: %s", exc)
        return False
    finally:
        await client.close()
