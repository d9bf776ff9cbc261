"""The scripted LLM stand-in: an OpenAI-compatible chat API that answers every request with
the same canned text, so a load test measures the agent and not the model.

In: the llm_server settings (model_alias, scripted_answer, scripted_delay_ms). Out: a
FastAPI app with GET /v1/models (the alias) and POST /v1/chat/completions: the answer
whatever the messages and tools, streamed as server-sent events a word a chunk (first chunk
after scripted_delay_ms) when the request asks for `stream`, else in one response.
"""

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from pipeline.settings import LlmServerSettings

OWNER = "switchboard-scripted"
_WORDS = re.compile(r"\s*\S+")


def _chunk(model: str, delta: dict, finish: str | None = None) -> str:
    body = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n"


async def _stream(model: str, answer: str, delay_s: float) -> AsyncIterator[str]:
    await asyncio.sleep(delay_s)
    yield _chunk(model, {"role": "assistant", "content": ""})
    for word in _WORDS.findall(answer):
        yield _chunk(model, {"content": word})
    yield _chunk(model, {}, finish="stop")
    yield "data: [DONE]\n\n"


def _completion(model: str, answer: str) -> dict:
    words = len(_WORDS.findall(answer))
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": words, "total_tokens": words},
    }


def create_app(settings: LlmServerSettings) -> FastAPI:
    app = FastAPI(title="switchboard llm-server --scripted")
    answer, delay_s = settings.scripted_answer, settings.scripted_delay_ms / 1000

    @app.get("/v1/models")
    async def models() -> dict:
        model = {"id": settings.model_alias, "object": "model", "created": 0, "owned_by": OWNER}
        return {"object": "list", "data": [model]}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(request: Request) -> JSONResponse | StreamingResponse:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": {"message": "the body is not JSON"}}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": {"message": "the body is not an object"}}, 400)
        model = str(body.get("model") or settings.model_alias)
        if body.get("stream"):
            events = _stream(model, answer, delay_s)
            return StreamingResponse(events, media_type="text/event-stream")
        await asyncio.sleep(delay_s)
        return JSONResponse(_completion(model, answer))

    return app
