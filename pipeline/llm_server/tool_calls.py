"""How the CPU LLM stand-in handles tools ("switchboard-tools", a llama-cpp-python chat format).

SmolLM2-135M cannot reliably choose between answering and calling a tool, and
llama-cpp-python's "chatml-function-calling" raises "Automatic streaming tool choice is not
supported" when the model picks a function while the client streams (Pipecat always
streams). So this stand-in splits the work:

- a request that names a function (`tool_choice={"type": "function", ...}`) gets a real
  tool call: chatml-function-calling fills in the arguments under a JSON-schema grammar
  (not streamed: its stream repeats the function name in every chunk, which clients
  concatenate), then replayed as one OpenAI tool-call chunk; earlier tool calls are
  written as text here too (its template needs every message to have content). A function
  that takes no arguments (end_call) is called at once, without the model;
- every other request gets a plain ChatML answer, streamed, with earlier tool calls and
  their results written into the conversation as text the model can read.

The agent names the function when the caller's words make the tool obvious (its tool
hints, pipeline/agent/tools.py). In: a chat request. Out: llama-cpp-python's chat response
(an iterator of chunks when streaming).
"""

import time
import uuid
from collections.abc import Iterator
from typing import Any

from llama_cpp import llama_chat_format

from pipeline.llm_server import prefix_cache, prefix_reuse

HANDLER_NAME = "switchboard-tools"


def _readable(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool calls and results as plain messages (ChatML has no tool roles)."""
    names = {}
    readable = []
    for message in messages:
        if message.get("role") == "assistant" and message.get("tool_calls"):
            for call in message["tool_calls"]:
                names[call["id"]] = call["function"]["name"]
            continue
        if message.get("role") == "tool":
            name = names.get(message.get("tool_call_id"), "the tool")
            if message.get("content") in ("IN_PROGRESS", None):
                continue
            result = message["content"]
            text = f"{name} returned {result}. Tell the caller what it says, in one sentence."
            readable.append({"role": "system", "content": text})
            continue
        readable.append({"role": message["role"], "content": message.get("content") or ""})
    return readable


def _replay(response: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """A finished tool-call completion as the chunks a streaming client expects."""
    head = {key: response[key] for key in ("id", "created", "model")}
    head["object"] = "chat.completion.chunk"
    calls = response["choices"][0]["message"].get("tool_calls") or []
    delta = {"role": "assistant", "tool_calls": [{"index": i, **c} for i, c in enumerate(calls)]}
    yield head | {"choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    yield head | {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}


def _without_arguments(tools: list[dict[str, Any]], tool_choice: dict) -> dict | None:
    """The named function's call at once when it takes no arguments (end_call): there is
    nothing for the model to fill in, and prefilling the function-calling prompt of a long
    call takes seconds on a CPU. None for a function with parameters."""
    name = tool_choice.get("function", {}).get("name")
    named = [t["function"] for t in tools if t.get("function", {}).get("name") == name]
    if len(named) != 1 or (named[0].get("parameters") or {}).get("properties"):
        return None
    call = {"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function"}
    call["function"] = {"name": name, "arguments": "{}"}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": HANDLER_NAME,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
    }


def chat_with_tools(
    *, messages: list[dict[str, Any]], tools: Any = None, tool_choice: Any = None, **request: Any
) -> Any:
    """llama-cpp-python chat handler: a tool call when one is named, else a ChatML answer."""
    if tools and isinstance(tool_choice, dict):
        stream = request.pop("stream", False)
        response = _without_arguments(
            tools, tool_choice
        ) or llama_chat_format.chatml_function_calling(
            messages=_readable(messages),
            tools=tools,
            tool_choice=tool_choice,
            stream=False,
            **request,
        )
        return _replay(response) if stream else response
    request.pop("functions", None)
    request.pop("function_call", None)
    chatml = llama_chat_format.get_chat_completion_handler("chatml")
    return chatml(messages=_readable(messages), **request)


def register(prefix_cache_mb: int = 0) -> None:
    """Make the handler available as chat_format "switchboard-tools" in this process; the
    model it first serves gets a prefix cache of prefix_cache_mb (prefix_cache.py; 0: none)
    and logs each completion's prefix reuse (prefix_reuse.py)."""

    def handler(**request: Any) -> Any:
        prefix_cache.attach(request["llama"], prefix_cache_mb)
        prefix_reuse.install(request["llama"])
        return chat_with_tools(**request)

    registry = llama_chat_format.LlamaChatCompletionHandlerRegistry()
    registry.register_chat_completion_handler(HANDLER_NAME, handler, overwrite=True)


_PROBE_TOOL = {
    "type": "function",
    "function": {
        "name": "probe",
        "parameters": {"type": "object", "properties": {"n": {"type": "string"}}},
    },
}


def warm_up(llama: Any) -> None:
    """One short answer and one tool call, so the first caller does not wait for the cold
    start (page-in, first graph, grammar machinery): seconds on a laptop."""
    hello = [{"role": "user", "content": "Hello."}]
    chat_with_tools(llama=llama, messages=hello, max_tokens=4)
    named = {"type": "function", "function": {"name": "probe"}}
    chat_with_tools(llama=llama, messages=hello, tools=[_PROBE_TOOL], tool_choice=named)
