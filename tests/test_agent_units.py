"""The agent's parts without a call: ASR model naming, tools, endpoint checks, settings."""

import asyncio
import json
import socket

import pytest

from pipeline.agent.endpoints import EndpointError, check_endpoints
from pipeline.agent.services import build_stt
from pipeline.agent.tools import find_order, load_orders
from pipeline.settings import load_settings


def test_stt_names_the_configured_asr_model() -> None:
    settings = load_settings(asr={"server": "localhost:50051", "model": "parakeet-1.1b"})
    stt = build_stt(settings.asr, 16000)
    assert stt._create_recognition_config().config.model == "parakeet-1.1b"


def test_lookup_finds_spoken_order_numbers() -> None:
    orders = load_orders()
    assert find_order(orders, "1, 2, 3, 4.")["status"] == "shipped"
    assert find_order(orders, "1234")["found"] is True
    assert find_order(orders, "9999") == {"found": False, "order_number": "9999"}


def test_bad_order_fixture_is_named(tmp_path) -> None:
    bad = tmp_path / "orders.json"
    bad.write_text(json.dumps({"not_orders": []}))
    with pytest.raises(ValueError, match=str(bad)):
        load_orders(bad)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_endpoints_are_named_with_how_to_start_them() -> None:
    port = _closed_port()
    settings = load_settings(
        asr={"server": f"127.0.0.1:{port}"},
        tts={"server": f"127.0.0.1:{port}"},
        llm={"base_url": f"http://127.0.0.1:{port}/v1"},
    )
    with pytest.raises(EndpointError) as caught:
        check_endpoints(settings)
    message = str(caught.value)
    assert f"ASR endpoint 127.0.0.1:{port}" in message
    assert f"TTS endpoint 127.0.0.1:{port}" in message
    assert f"LLM endpoint http://127.0.0.1:{port}/v1" in message
    assert "switchboard speech-server" in message and "switchboard llm-server" in message


def test_helm_agent_env_names_are_settings(monkeypatch) -> None:
    """The chart sets these for `switchboard serve`; settings must accept every one."""
    env = {
        "HOST": "0.0.0.0",
        "SIP_PORT": "5060",
        "RTP_PORT_MIN": "10000",
        "RTP_PORT_MAX": "10063",
        "AUDIOSOCKET_PORT": "9092",
        "WEBSOCKET_PORT": "8765",
        "METRICS_PORT": "9090",
        "HEALTH_PORT": "8080",
        "ADVERTISE_ADDRESS": "10.0.0.7",
    }
    for key, value in env.items():
        monkeypatch.setenv(f"SWITCHBOARD_AGENT__{key}", value)
    agent = load_settings().agent
    assert (agent.host, agent.websocket_port, agent.health_port) == ("0.0.0.0", 8765, 8080)
    assert agent.advertise_address == "10.0.0.7"


def test_tool_hints_name_the_obvious_tool() -> None:
    from pipeline.agent.tools import tool_hint

    assert tool_hint("My order number is, um, one two three four, please.") == "lookup_order"
    assert tool_hint("It is 1, 2, 3, 4.") == "lookup_order"
    assert tool_hint("Can I talk to a real person?") == "transfer_to_human"
    assert tool_hint("Hi, I am calling to check on an order.") is None


def test_order_sentence_reads_the_fixture_verbatim() -> None:
    from pipeline.agent.tools import order_sentence

    said = order_sentence(find_order(load_orders(), "1234"))
    assert "a blue kettle" in said and "shipped" in said and "Friday" in said
    assert "could not find" in order_sentence(find_order(load_orders(), "0000"))


def test_llm_stand_in_writes_tool_results_as_text() -> None:
    pytest.importorskip("llama_cpp")
    from pipeline.llm_server.tool_calls import _readable

    call = {"id": "c1", "type": "function", "function": {"name": "lookup_order"}}
    messages = [
        {"role": "user", "content": "order 1234"},
        {"role": "assistant", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "IN_PROGRESS"},
        {"role": "tool", "tool_call_id": "c1", "content": '{"status": "shipped"}'},
    ]
    readable = _readable(messages)
    assert [m["role"] for m in readable] == ["user", "system"]
    assert "lookup_order returned" in readable[1]["content"] and "shipped" in readable[1]["content"]


def test_tts_waits_longer_than_a_loaded_cpu_takes_for_a_sentence() -> None:
    """Pipecat's default gives up after 3 s without audio and the call then ends; the CPU
    speech server can take that long for one sentence when the machine is busy."""
    from pipeline.agent.services import TTS_IDLE_TIMEOUT_S, build_tts

    tts = build_tts(load_settings().tts)
    assert tts._stop_frame_timeout_s == TTS_IDLE_TIMEOUT_S >= 10.0


def test_pipecats_own_prompts_reach_the_llm_as_user_messages() -> None:
    """Pipecat answers an empty caller turn with a "developer" message; llama.cpp's server
    (the CPU stand-in) refuses that role with HTTP 500, which ended calls under load."""
    import asyncio

    from pipecat.processors.aggregators.llm_context import LLMContext

    from pipeline.agent.services import build_llm

    llm = build_llm(load_settings().llm, "You are a call-center agent.")
    context = LLMContext(messages=[{"role": "developer", "content": "The caller said nothing."}])
    params = asyncio.run(
        llm.get_llm_adapter().get_llm_invocation_params(
            context,
            system_instruction="You are a call-center agent.",
            convert_developer_to_user=not llm.supports_developer_role,
        )
    )
    roles = [m["role"] for m in params["messages"]]
    assert "developer" not in roles and roles[-1] == "user", params["messages"]


def test_stt_closes_its_grpc_channel_when_the_call_ends() -> None:
    settings = load_settings(asr={"server": "localhost:50051"})
    stt = build_stt(settings.asr, 16000)
    stt._initialize_client()  # what starting the service does; it connects lazily
    channel = stt._asr_service.auth.channel
    asyncio.run(stt.cleanup())
    with pytest.raises(ValueError, match="closed channel"):
        channel.unary_unary("/any.Service/Method")(b"")
