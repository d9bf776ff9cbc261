"""Fail-fast checks that the agent's endpoints answer before any call is taken.

In: settings. Out: nothing when every endpoint answers; otherwise EndpointError, whose
message names each unreachable endpoint, the setting that points at it, and how to start
the local stand-in for it.
"""

import json
import urllib.error
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from pipeline.settings import Settings


class EndpointError(RuntimeError):
    """One or more endpoints did not answer; the message says which and what to do."""


def grpc_serving(address: str, timeout_s: float = 2.0) -> str | None:
    """None when the gRPC server at `address` says SERVING, else what went wrong."""
    with grpc.insecure_channel(address) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=timeout_s
            )
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                return None  # a server without the health service; it answered, so it is up
            return f"{exc.code().name}: {exc.details()}"
    if response.status != health_pb2.HealthCheckResponse.SERVING:
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    return None


def llm_models(base_url: str, api_key: str, timeout_s: float = 3.0) -> list[str]:
    """The model ids an OpenAI-compatible server lists at GET {base_url}/models."""
    request = urllib.request.Request(
        base_url.rstrip("/") + "/models", headers={"Authorization": f"Bearer {api_key}"}
    )
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return [model["id"] for model in json.load(response).get("data", [])]


def llm_problem(base_url: str, api_key: str, model: str) -> str | None:
    """None when the LLM endpoint answers and serves `model`, else what went wrong."""
    try:
        models = llm_models(base_url, api_key)
    except (OSError, urllib.error.URLError, ValueError) as exc:
        return str(getattr(exc, "reason", exc))
    if models and model not in models:
        return f"it serves {models}, not '{model}' (setting llm.model)"
    return None


def check_endpoints(settings: Settings) -> None:
    """Raise EndpointError naming every endpoint that does not answer."""
    problems = []
    speech_hint = "start the CPU stand-in with `switchboard speech-server --port {port}`"
    for name, section, server in (
        ("ASR", "asr", settings.asr.server),
        ("TTS", "tts", settings.tts.server),
    ):
        if getattr(settings, section).use_ssl:
            continue  # a TLS endpoint (e.g. NVIDIA's cloud) is checked by its first call
        problem = grpc_serving(server)
        if problem:
            hint = speech_hint.format(port=server.rsplit(":", 1)[1])
            problems.append(
                f"{name} endpoint {server} (setting {section}.server, env "
                f"SWITCHBOARD_{section.upper()}__SERVER) does not answer: {problem}; "
                f"start the Riva/NIM there, or {hint}"
            )
    problem = llm_problem(settings.llm.base_url, settings.llm.api_key, settings.llm.model)
    if problem:
        problems.append(
            f"LLM endpoint {settings.llm.base_url} (setting llm.base_url, env "
            f"SWITCHBOARD_LLM__BASE_URL) does not answer: {problem}; start the NIM/vLLM "
            "there, or the CPU stand-in with `switchboard llm-server --port 8000`"
        )
    if problems:
        raise EndpointError(
            "endpoints unreachable:\n  "
            + "\n  ".join(problems)
            + "\n(or run `switchboard serve --cpu`, which starts the CPU stand-ins itself)"
        )
