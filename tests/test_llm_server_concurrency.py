"""The CPU LLM stand-in answers concurrent calls in full: a live `switchboard llm-server`,
two streamed chat completions at once through the OpenAI client (what Pipecat uses).
llama.cpp's server would otherwise end the first stream early when the second arrives."""

import asyncio

import pytest
from llm_server_fixture import MODEL, live_llm_server
from openai import AsyncOpenAI

pytestmark = pytest.mark.slow


async def _answer(client: AsyncOpenAI, question: str) -> str:
    stream = await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": question}],
        max_tokens=40,
        temperature=0.0,
        stream=True,
    )
    parts = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
    return "".join(parts)


async def _two_at_once(base_url: str) -> list[str]:
    client = AsyncOpenAI(base_url=base_url, api_key="none")
    questions = ["What is the capital of France?", "Name three colors of the rainbow."]
    return await asyncio.gather(*(_answer(client, q) for q in questions))


def test_concurrent_streams_are_answered_in_full(tmp_path) -> None:
    with live_llm_server(tmp_path / "llm-server.log") as base_url:
        answers = asyncio.run(_two_at_once(base_url))
    assert all(len(answer.split()) >= 3 for answer in answers), answers
