"""Handing a call to a person: at once when the caller asks, with the call's context.

`PersonRequests` sits between the user aggregator and the LLM. In: LLMContextFrame (the
caller's finished turn, about to go to the LLM) and InputDTMFFrame. Out: when the caller's
last words ask for a person ("agent", "representative", "a person", ...: tools.ASKS_FOR_PERSON)
or the caller presses 0, the LLM is not asked: the transfer is recorded on the call's tools,
TRANSFER_LINE is spoken and the pipeline ends (EndWorkerFrame; on SIP the intake then sends
REFER to agent.sip_transfer_target). Every other frame passes through untouched.

`write_handoff` (`hand_off_when_transferred` calls it as a transferred call's pipeline ends)
writes what the site's systems fetch when a call was transferred: one JSON file
per call, `<agent.handoff_dir>/<call_id>.json`, with the context (reason, intent, order
number: `CallCenterTools.handoff_fields`) and the transcript so far (the conversation's
caller and agent turns, digit runs masked unless agent.transcripts_raw).
"""

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from pipecat.frames.frames import (
    EndWorkerFrame,
    Frame,
    InputDTMFFrame,
    LLMContextFrame,
    TTSSpeakFrame,
)
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.aggregators.llm_context import LLMContext
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from pipeline.agent.redaction import keep
from pipeline.agent.tool_hints import last_caller_text
from pipeline.agent.tools import ASKS_FOR_PERSON, TRANSFER_LINE, CallCenterTools
from pipeline.settings import AgentSettings

log = logging.getLogger(__name__)

OPERATOR_KEY = "0"


class PersonRequests(FrameProcessor):
    """Transfers without the LLM when the caller asks for a person or presses 0."""

    def __init__(self, tools: CallCenterTools, call_id: str = "") -> None:
        super().__init__()
        self._tools = tools
        self._call_id = call_id
        self._transferring = False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        reason = _asks_for_person(frame)
        if reason is None:
            await self.push_frame(frame, direction)
            return
        if self._transferring:  # already on the way out
            return
        self._transferring = True
        log.info("call %s: %s; transferring without the LLM", self._call_id, reason)
        self._tools.record_transfer(reason)
        await self.push_frame(TTSSpeakFrame(TRANSFER_LINE))
        await self.push_frame(EndWorkerFrame(reason=reason))


def _asks_for_person(frame: Frame) -> str | None:
    """Why `frame` asks for a person, or None."""
    if isinstance(frame, LLMContextFrame):
        if ASKS_FOR_PERSON.search(last_caller_text(frame.context)):
            return "the caller asked for a person"
    elif isinstance(frame, InputDTMFFrame) and frame.button.value == OPERATOR_KEY:
        return "the caller pressed 0"
    return None


def transcript_so_far(context: LLMContext, mask: Callable[[str], str]) -> list[dict[str, str]]:
    """The conversation's caller and agent turns, in order, each text through `mask`."""
    turns = []
    for message in context.get_messages():
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if role in ("user", "assistant") and isinstance(content, str) and content.strip():
            turns.append({"role": "caller" if role == "user" else "agent", "text": mask(content)})
    return turns


def write_handoff(
    folder: Path | None,
    call_id: str,
    fields: Mapping[str, str],
    turns: list[dict[str, str]],
) -> Path | None:
    """Write `<folder>/<call_id>.json` (context fields and transcript); its path, or None
    when `folder` is None or the file cannot be written (logged; the transfer goes on)."""
    if folder is None:
        return None
    safe_id = "".join(c if c.isalnum() or c in "-_.@" else "_" for c in call_id)[:200]
    path = folder / f"{safe_id}.json"
    record = {
        "call_id": call_id,
        **fields,
        "transferred_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "transcript": turns,
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        log.error("call %s: cannot write the handoff to %s: %s", call_id, path, exc)
        return None
    return path


def hand_off_when_transferred(
    worker: PipelineWorker,
    context: LLMContext,
    tools: CallCenterTools,
    agent: AgentSettings,
    call_id: str,
) -> None:
    """When the call's pipeline ends transferred, write its handoff under agent.handoff_dir,
    masked as the transcripts file is (tools.mask unless agent.transcripts_raw)."""
    mask = keep if agent.transcripts_raw else tools.mask

    @worker.event_handler("on_pipeline_finished")
    async def _hand_off(_worker: PipelineWorker, _frame: object) -> None:
        if tools.transferred:
            turns = transcript_so_far(context, mask)
            write_handoff(agent.handoff_dir, call_id, tools.handoff_fields(), turns)
