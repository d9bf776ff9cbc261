"""The call-center persona and its business logic: a system prompt and two LLM functions.

This module knows nothing about audio. The pipeline hands it the LLM service; it advertises
two tools and answers them:

- `lookup_order(order_number)` reads the order fixture (a JSON file, `agent.orders_file`),
  returns the order to the LLM and reads it to the caller from a template: account data is
  spoken verbatim, never paraphrased by the model.
- `transfer_to_human(reason)` says a short goodbye and ends the bot's part of the call
  cleanly (queued speech is played first, then the pipeline ends).
- `end_call()` says goodbye and hangs up the same way (each carrier hangs up when the
  pipeline ends: BYE on SIP, a hang-up frame on AudioSocket, the WebSocket and WebRTC
  connections closed).

`tool_hint()` names the tool the LLM must call when the caller's words make it obvious (an
order number, asking for a person, a goodbye); small models such as the CPU stand-in cannot choose
tools on their own (setting `llm.tool_hints`). Replace this module, or add functions beside
these, to plug in real business logic.
"""

import json
import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipecat.adapters.llm.schemas.function_schema import FunctionSchema
from pipecat.adapters.llm.schemas.tools_schema import ToolsSchema
from pipecat.frames.frames import EndWorkerFrame, FunctionCallResultProperties, TTSSpeakFrame
from pipecat.services.llm_service import FunctionCallParams, LLMService

from pipeline.agent.redaction import redact

log = logging.getLogger(__name__)

DEFAULT_ORDERS = Path(__file__).parent / "data" / "orders.json"

SYSTEM_PROMPT = (
    "You are Sam, a friendly phone agent for Acme Home Goods. You help callers with their "
    "orders. When the caller gives an order number, call lookup_order with it and tell them "
    "the status. If the caller asks for a person, call transfer_to_human. When the caller says "
    "goodbye or has nothing more, call end_call. Answer in one or two short spoken "
    "sentences, with no lists or symbols."
)
GREETING = "Thank you for calling Acme Home Goods. How can I help you today?"
TRANSFER_LINE = "Of course. I am transferring you to a colleague now. Goodbye."
GOODBYE_LINE = "Thank you for calling Acme Home Goods. Goodbye."

LOOKUP_ORDER = FunctionSchema(
    name="lookup_order",
    description="Look up an order by its order number and return its status and delivery day.",
    properties={
        "order_number": {
            "type": "string",
            "description": "The four-digit order number, digits only.",
            "pattern": "^[0-9]{4}$",
        }
    },
    required=["order_number"],
)
TRANSFER_TO_HUMAN = FunctionSchema(
    name="transfer_to_human",
    description="Transfer the caller to a human agent when they ask for a person.",
    properties={"reason": {"type": "string", "description": "Why the caller wants a person."}},
    required=["reason"],
)
END_CALL = FunctionSchema(
    name="end_call",
    description="Say goodbye and hang up when the caller is done or says goodbye.",
    properties={},
    required=[],
)
TOOLS = ToolsSchema(standard_tools=[LOOKUP_ORDER, TRANSFER_TO_HUMAN, END_CALL])


def load_orders(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The order fixture as {order_number: order}; raises ValueError naming a bad file."""
    path = path or DEFAULT_ORDERS
    try:
        orders = json.loads(path.read_text())["orders"]
        return {str(order["order_number"]): order for order in orders}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"order fixture {path} is unreadable ({exc}); it must be JSON like "
            '{"orders": [{"order_number": "1234", ...}]} (setting agent.orders_file)'
        ) from exc


SPOKEN_DIGITS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
ASKS_FOR_PERSON = re.compile(
    r"\b(person|human|someone|agent|representative|operator|manager)\b", re.I
)
# The caller closing: "that's all", "that is it", "goodbye", "bye", "thanks, bye", "nothing else".
CLOSES = re.compile(
    r"\b(that'?s all|that is all|that'?s it|that is it|good ?bye|bye|nothing else)\b", re.I
)


def tool_hint(caller_text: str) -> str | None:
    """The tool the caller's words call for: an order number (four or more digits, written
    or spoken) -> lookup_order; asking for a person -> transfer_to_human; closing the call
    -> end_call; else None."""
    words = re.findall(r"[a-z]+|\d", caller_text.lower())
    digits = [SPOKEN_DIGITS.get(w, w) for w in words if w.isdigit() or w in SPOKEN_DIGITS]
    if len(digits) >= 4:
        return "lookup_order"
    if ASKS_FOR_PERSON.search(caller_text):
        return "transfer_to_human"
    if CLOSES.search(caller_text):
        return "end_call"
    return None


def order_sentence(result: Mapping[str, Any]) -> str:
    """What the agent says about a lookup_order result."""
    number = " ".join(str(result.get("order_number", "")))
    if not result.get("found"):
        return f"I could not find an order with the number {number}. Could you check it?"
    return (
        f"Your order {number}, {result['item']}, is {result['status']}, "
        f"and it arrives {result['arrives']}. Is there anything else?"
    )


def find_order(orders: Mapping[str, Mapping[str, Any]], order_number: str) -> dict[str, Any]:
    """The tool's answer for one order number: the order, or {"found": False}."""
    digits = "".join(re.findall(r"\d", str(order_number)))
    order = orders.get(digits)
    if order is None:
        return {"found": False, "order_number": digits or str(order_number)}
    return {"found": True, **order}


class CallCenterTools:
    """Registers the persona's functions on an LLM service for one call; what they log goes
    through `mask` (pipeline/agent/redaction.py)."""

    def __init__(
        self, orders: Mapping[str, Mapping[str, Any]], mask: Callable[[str], str] = redact
    ) -> None:
        self.orders = orders
        self.mask = mask
        self.calls: list[tuple[str, dict[str, Any]]] = []  # (function, arguments), in order

    def record_transfer(self, reason: str) -> None:
        """A transfer the agent made without the LLM (pipeline/agent/handoff.py)."""
        self.calls.append(("transfer_to_human", {"reason": reason}))

    @property
    def transferred(self) -> bool:
        return any(function == "transfer_to_human" for function, _ in self.calls)

    def handoff_fields(self) -> dict[str, str]:
        """What a person taking the call over needs first: why it was transferred, what the
        caller wanted ("order status" once an order was looked up) and the order number."""
        reasons = [a.get("reason", "") for f, a in self.calls if f == "transfer_to_human"]
        orders = [a.get("order_number", "") for f, a in self.calls if f == "lookup_order"]
        order = "".join(re.findall(r"\d", str(orders[-1]))) if orders else ""
        return {
            "reason": str(reasons[-1]) if reasons else "",
            "intent": "order status" if orders else "other",
            "order_number": order,
        }

    def register(self, llm: LLMService) -> None:
        llm.register_function("lookup_order", self.lookup_order)
        llm.register_function("transfer_to_human", self.transfer_to_human)
        llm.register_function("end_call", self.end_call)

    async def lookup_order(self, params: FunctionCallParams) -> None:
        arguments = dict(params.arguments)
        self.calls.append(("lookup_order", arguments))
        result = find_order(self.orders, str(arguments.get("order_number", "")))
        log.info("tool lookup_order(%s) -> %s", self.mask(str(arguments)), self.mask(str(result)))
        await params.result_callback(result, properties=FunctionCallResultProperties(run_llm=False))
        await params.llm.push_frame(TTSSpeakFrame(order_sentence(result)))

    async def transfer_to_human(self, params: FunctionCallParams) -> None:
        await self._say_and_end(
            params, "transfer_to_human", TRANSFER_LINE, "transferred to a human"
        )

    async def end_call(self, params: FunctionCallParams) -> None:
        await self._say_and_end(params, "end_call", GOODBYE_LINE, "the caller said goodbye")

    async def _say_and_end(
        self, params: FunctionCallParams, function: str, line: str, reason: str
    ) -> None:
        """Record the call, speak `line`, then end the pipeline (the carrier hangs up)."""
        arguments = dict(params.arguments)
        self.calls.append((function, arguments))
        log.info("tool %s(%s): %s", function, self.mask(str(arguments)), reason)
        await params.result_callback(
            {"ended": True}, properties=FunctionCallResultProperties(run_llm=False)
        )
        # Downstream, in order: the line is spoken, then the pipeline ends.
        await params.llm.push_frame(TTSSpeakFrame(line))
        await params.llm.push_frame(EndWorkerFrame(reason=reason))
