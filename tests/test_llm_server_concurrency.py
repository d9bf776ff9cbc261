"""The CPU LLM stand-in answers concurrent calls in full: a live `switchboard llm-server`,
two streamed chat completions at once through the OpenAI client (what Pipecat uses).
llama.cpp's server would otherwise end the first stream early when the second arrives."""

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openai import AsyncOpenAI
from speech_server_fixture import free_port

from pipeline.agent.endpoints import llm_problem

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
MODEL = "smollm2-135m-instruct"


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
    port = free_port()
    log = (tmp_path / "llm-server.log").open("wb")
    command = [sys.executable, "-m", "pipeline.cli", "llm-server", "--port", str(port)]
    server = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=log)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while llm_problem(base_url, "none", MODEL):
            assert server.poll() is None and time.monotonic() < deadline, "llm-server not up"
            time.sleep(1)
        answers = asyncio.run(_two_at_once(base_url))
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert all(len(answer.split()) >= 3 for answer in answers), answers
