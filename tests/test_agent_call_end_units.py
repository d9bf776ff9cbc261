"""Unit checks for ending calls and riding out glitches: the closing hint, its order among
the other hints, the idle timeline, and which LLM errors earn the one retry."""

import httpx2 as httpx  # what openai's client is built on
import openai
import pytest

from pipeline.agent.idle import MIN_AFTER_PROMPT_S, CallerIdle
from pipeline.agent.services import transient
from pipeline.agent.tools import tool_hint
from pipeline.settings import AgentSettings


@pytest.mark.parametrize(
    "said",
    ["That's all, thanks.", "Great, thank you. That is all, goodbye.", "Bye!", "thanks, bye",
     "No, that is it.", "Nothing else, good bye."],
)  # fmt: skip
def test_a_caller_closing_the_call_hints_end_call(said: str) -> None:
    assert tool_hint(said) == "end_call"


def test_the_closing_hint_yields_to_an_order_number_and_to_a_person() -> None:
    assert tool_hint("It is one two three four, that's all.") == "lookup_order"
    assert tool_hint("Bye, no wait, give me a person.") == "transfer_to_human"
    assert tool_hint("Maybe, I will buy a kettle.") is None  # "buy" is not "bye"


class _Recorder:
    """Stands in for the worker and the user aggregator: keeps handlers and queued frames."""

    def __init__(self) -> None:
        self.handlers: dict = {}
        self.queued: list = []

    def event_handler(self, name: str):
        return lambda handler: self.handlers.setdefault(name, handler)

    async def queue_frames(self, frames: list) -> None:
        self.queued += frames

    async def queue_frame(self, frame: object) -> None:
        self.queued.append(frame)


async def test_a_silent_caller_is_prompted_once_then_told_goodbye() -> None:
    worker, user = _Recorder(), _Recorder()
    idle = CallerIdle(worker, user, AgentSettings(idle_prompt_s=10, idle_hangup_s=30), "c1")
    assert idle.enabled and idle.first_timeout().timeout == 10
    await user.handlers["on_user_turn_idle"](user)
    timeout, prompt = worker.queued
    assert timeout.timeout == 20 and "still there" in prompt.text
    await user.handlers["on_user_turn_idle"](user)
    goodbye, end = worker.queued[2:]
    assert "Goodbye" in goodbye.text and "silent" in end.reason
    await user.handlers["on_user_turn_idle"](user)
    assert len(worker.queued) == 4  # ended once


async def test_a_caller_who_speaks_after_the_prompt_gets_the_first_timeout_back() -> None:
    worker, user = _Recorder(), _Recorder()
    CallerIdle(worker, user, AgentSettings(idle_prompt_s=5, idle_hangup_s=5), "c1")
    await user.handlers["on_user_turn_idle"](user)
    assert worker.queued[0].timeout == MIN_AFTER_PROMPT_S  # never 0: that would disable it
    await user.handlers["on_user_turn_started"](user, None)
    assert worker.queued[-1].timeout == 5


def test_idle_settings_of_zero_switch_the_prompt_or_everything_off() -> None:
    worker, user = _Recorder(), _Recorder()
    assert not CallerIdle(
        worker, user, AgentSettings(idle_prompt_s=0, idle_hangup_s=0), "c"
    ).enabled
    no_prompt = CallerIdle(worker, user, AgentSettings(idle_prompt_s=0, idle_hangup_s=7), "c")
    assert no_prompt.first_timeout().timeout == 7


def test_only_errors_a_retry_may_cure_are_retried() -> None:
    request = httpx.Request("POST", "http://llm/v1/chat/completions")

    def status(code: int) -> openai.APIStatusError:
        return openai.APIStatusError("x", response=httpx.Response(code, request=request), body=None)

    assert transient(openai.APIConnectionError(request=request))
    assert transient(TimeoutError())
    assert transient(status(503)) and transient(status(429))
    assert not transient(status(400)) and not transient(status(401))


def test_a_transfer_carries_intent_and_order_number_in_user_to_user() -> None:
    from pipeline.agent.tools import CallCenterTools
    from pipeline.telephony.sip.transfer import context_headers

    tools = CallCenterTools({})
    tools.calls.append(("lookup_order", {"order_number": "1 2 3 4"}))
    tools.record_transfer("the caller pressed 0")
    assert tools.transferred
    fields = {"call_id": "abc@pbx", **tools.handoff_fields()}
    [(name, value)] = context_headers(fields, "uui")
    data, *params = value.split(";")
    assert name == "User-to-User"
    assert params == ["encoding=hex", "purpose=isdn-uui", "content=isdn-uui"]
    uui = bytes.fromhex(data)
    assert uui[:1] == b"\x04"  # IA5 characters
    assert uui[1:].decode() == (
        "call_id=abc@pbx;reason=the caller pressed 0;intent=order status;order_number=1234"
    )
    x_headers = dict(context_headers(fields, "x-headers"))
    assert x_headers["X-Switchboard-Order-Number"] == "1234"
    assert x_headers["X-Switchboard-Call-Id"] == "abc@pbx"
    assert context_headers(fields, "none") == []


def test_header_context_cannot_smuggle_a_header_or_outgrow_isdn_uui() -> None:
    from pipeline.telephony.sip.transfer import UUI_MAX_OCTETS, context_headers

    hostile = {"call_id": "x\r\nContact: <sip:evil>", "intent": "y" * 500}
    [(_, value)] = context_headers(hostile, "x-headers")[:1]
    assert "\r" not in value and "\n" not in value
    [(_, uui)] = context_headers(hostile, "uui")
    assert len(bytes.fromhex(uui.split(";")[0])) == UUI_MAX_OCTETS


def test_the_handoff_file_has_the_context_and_the_transcript(tmp_path) -> None:
    import json

    from pipecat.processors.aggregators.llm_context import LLMContext

    from pipeline.agent.handoff import transcript_so_far, write_handoff

    context = LLMContext(
        messages=[
            {"role": "assistant", "content": "Thank you for calling."},
            {"role": "user", "content": "My card is 4111111111111111, get me a person."},
            {"role": "tool", "content": "{}", "tool_call_id": "c1"},
        ]
    )
    turns = transcript_so_far(context, lambda text: text.replace("4111111111111111", "**11"))
    path = write_handoff(tmp_path / "h", "sip-a/b", {"reason": "r", "intent": "other"}, turns)
    assert path is not None and path.name == "sip-a_b.json"
    record = json.loads(path.read_text())
    assert record["call_id"] == "sip-a/b" and record["reason"] == "r"
    assert [t["role"] for t in record["transcript"]] == ["agent", "caller"]
    assert "4111" not in record["transcript"][1]["text"]
    assert write_handoff(None, "c", {}, turns) is None


def test_the_llm_stand_in_calls_a_function_without_arguments_at_once() -> None:
    pytest.importorskip("llama_cpp")
    from pipeline.llm_server.tool_calls import chat_with_tools

    end_call = {"name": "end_call", "parameters": {"type": "object", "properties": {}}}
    tools = [{"type": "function", "function": end_call}]
    choice = {"type": "function", "function": {"name": "end_call"}}
    # No model is given: the answer cannot have come from one.
    chunks = list(chat_with_tools(messages=[], tools=tools, tool_choice=choice, stream=True))
    [call] = chunks[0]["choices"][0]["delta"]["tool_calls"]
    assert call["function"] == {"name": "end_call", "arguments": "{}"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
