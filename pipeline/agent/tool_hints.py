"""Tool hints: a processor between the user aggregator and the LLM.

In: LLMContextFrame (the conversation, about to be sent to the LLM). Out: the same frame,
its tool choice set to the function the caller's last words call for (see
`tools.tool_hint`), or "auto" when nothing is obvious. The LLM still makes the call and
fills in its arguments; the hint only says which. Other frames pass through untouched.
"""

from typing import Any

from pipecat.frames.frames import Frame, LLMContextFrame
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from pipeline.agent.tools import tool_hint


def _text(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):  # content parts: keep the text ones
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def last_caller_text(context: LLMContext) -> str:
    """The text of the context's last message when the caller wrote it, else ""."""
    messages = context.get_messages()
    last = messages[-1] if messages else {}
    return _text(last) if isinstance(last, dict) and last.get("role") == "user" else ""


class ToolHints(FrameProcessor):
    """Names the obvious tool for the LLM's next answer."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, LLMContextFrame):
            tool = tool_hint(last_caller_text(frame.context))
            choice = {"type": "function", "function": {"name": tool}} if tool else "auto"
            frame.context.set_tool_choice(choice)
        await self.push_frame(frame, direction)
