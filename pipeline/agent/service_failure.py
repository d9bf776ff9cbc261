"""What a call does when a service it needs fails: apologize and hang up (or transfer to a
person where the call can be transferred), or just hang up.

In: the ErrorFrames that reach a call's PipelineWorker (`on_pipeline_error`), and the
agent's speech (BotStoppedSpeakingFrame, observed). Out: each error logged with the service
that failed (its text with digit runs always masked: pipeline/agent/redaction.py; an error
may quote what the caller said) and counted in switchboard_agent_errors_total; on the
first STT or LLM failure (one the service's own retry did not cure: pipeline/agent/stt.py,
services.py) the agent speaks APOLOGY and, once it has stopped speaking, ends the call
(EndFrame); given a `transfer` (a SIP call with agent.sip_transfer_target set), it records
the transfer through it and speaks TRANSFER_LINE instead, so the carrier hands the caller to
a person rather than hanging up. When TTS is down (unreachable, or no longer usable) no
apology can be spoken, so the call is cancelled at once. A call whose apology has not been
spoken within `end_within_s` is cancelled too, so a failing call never hangs. Other errors
(a TTS reply that came back without audio, errors of other processors) are logged and
counted; the call goes on.

`outcome` is what the call came to: "completed", "apologized", "transferred" or "failed".
"""

import asyncio
import logging
from collections.abc import Callable

from pipecat.frames.frames import BotStoppedSpeakingFrame, EndFrame, ErrorFrame, TTSSpeakFrame
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.pipeline.worker import PipelineWorker

from pipeline.agent.call_metrics import service_kind
from pipeline.agent.call_observers import call_observers
from pipeline.agent.metrics import ERRORS
from pipeline.agent.redaction import redact
from pipeline.agent.tools import TRANSFER_LINE

log = logging.getLogger(__name__)

APOLOGY = "I'm sorry, I am having technical trouble and cannot help you right now. Goodbye."


class _BotStopped(BaseObserver):
    """Sets `stopped` each time the agent stops speaking."""

    def __init__(self) -> None:
        super().__init__(observe_every_push=False)
        self.stopped = asyncio.Event()

    async def on_push_frame(self, data: FramePushed) -> None:
        if isinstance(data.frame, BotStoppedSpeakingFrame):
            self.stopped.set()


class ServiceFailureHandler:
    """Watches one call's worker for service failures (see the module docstring)."""

    def __init__(
        self,
        worker: PipelineWorker,
        call_id: str,
        end_within_s: float = 20.0,
        transfer: Callable[[str], None] | None = None,
    ) -> None:
        self.outcome = "completed"
        self._transfer = transfer
        self._worker = worker
        self._call_id = call_id
        self._end_within_s = end_within_s
        self._speech = _BotStopped()
        self._ending: asyncio.Task | None = None
        call_observers(worker).add(self._speech)
        worker.event_handler("on_pipeline_error")(self._on_error)
        worker.event_handler("on_pipeline_finished")(self._on_finished)

    async def _on_error(self, _worker: PipelineWorker, frame: ErrorFrame) -> None:
        service = service_kind(frame.processor)
        category = frame.category.value if frame.category else "unknown"
        ERRORS.labels(service, category).inc()
        error = redact(str(frame.error))
        log.error("call %s: %s failed (%s): %s", self._call_id, service, category, error)
        if service == "other":
            return
        if service == "tts":
            if _unreachable(frame):
                await self._hang_up("TTS is down, so no apology can be spoken")
        elif self.outcome == "completed":
            line = APOLOGY
            if self._transfer is not None:
                self.outcome = "transferred"
                self._transfer(f"{service} is down")
                line = TRANSFER_LINE
                log.warning("call %s: %s is down; transferring to a person", self._call_id, service)
            else:
                self.outcome = "apologized"
                log.warning("call %s: apologizing to the caller and ending the call", self._call_id)
            self._speech.stopped.clear()
            await self._worker.queue_frame(TTSSpeakFrame(line))
            self._ending = asyncio.create_task(self._end_after_apology())

    async def _end_after_apology(self) -> None:
        try:
            await asyncio.wait_for(self._speech.stopped.wait(), self._end_within_s)
        except TimeoutError:
            await self._hang_up(f"no apology spoken within {self._end_within_s:.0f} s")
            return
        await self._worker.queue_frame(EndFrame())

    async def _hang_up(self, why: str) -> None:
        if self.outcome == "failed":
            return
        self.outcome = "failed"
        log.warning("call %s: ending the call: %s", self._call_id, why)
        await self._worker.cancel()

    async def _on_finished(self, _worker: PipelineWorker, _frame: object) -> None:
        if self._ending is not None:
            self._ending.cancel()


def _unreachable(frame: ErrorFrame) -> bool:
    """The failing service cannot work at all: not usable any more, or its server is gone."""
    processor = frame.processor
    return (processor is not None and not processor.is_usable) or "UNAVAILABLE" in frame.error
