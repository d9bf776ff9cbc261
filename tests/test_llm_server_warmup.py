"""The agent's LLM warm-up against a live `switchboard llm-server`: after `warm_prefix`, a
call's first request (system prompt, greeting, the caller's words) prefills only the caller's
words, as the server's own prefix log reports; an unreachable server is not an error."""

import asyncio
import re

import pytest
from llm_server_fixture import MODEL, live_llm_server
from openai import AsyncOpenAI
from speech_server_fixture import free_port

from pipeline.agent.llm_warmup import opening_messages, warm_prefix
from pipeline.agent.tools import GREETING, SYSTEM_PROMPT
from pipeline.settings import LlmSettings

PREFILLED = re.compile(r"prefix: prompt (\d+) tokens, reused \d+, prefilled (\d+)")


async def _warm_then_first_turn(base_url: str) -> None:
    assert await warm_prefix(LlmSettings(base_url=base_url), SYSTEM_PROMPT, GREETING)
    client = AsyncOpenAI(base_url=base_url, api_key="none")
    messages = [*opening_messages(SYSTEM_PROMPT, GREETING), {"role": "user", "content": "Yes."}]
    await client.chat.completions.create(model=MODEL, messages=messages, max_tokens=4)
    await client.close()


@pytest.mark.slow
def test_first_turn_prefills_only_the_callers_words_after_the_warm_up(tmp_path) -> None:
    log = tmp_path / "llm-server.log"
    with live_llm_server(log) as base_url:
        asyncio.run(_warm_then_first_turn(base_url))
    prompt, prefilled = (int(n) for n in PREFILLED.findall(log.read_text())[-1])
    assert prompt > 100 and prefilled < 15, (prompt, prefilled)


def test_warm_up_of_an_unreachable_server_returns_false() -> None:
    settings = LlmSettings(base_url=f"http://127.0.0.1:{free_port()}/v1")
    assert not asyncio.run(warm_prefix(settings, SYSTEM_PROMPT, GREETING))
