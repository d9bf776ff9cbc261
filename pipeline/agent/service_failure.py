"""What a call does when a service it needs fails: apologize and hang up, or just hang up.

In: the ErrorFrames that reach a call's PipelineWorker (`on_pipeline_error`). Out: each one
logged with the service that failed and counted in switchboard_agent_errors_total; on the
first STT or LLM failure the agent speaks APOLOGY and ends the call (an EndFrame after it, so
the apology plays out first); when TTS fails no apology can be spoken, so the call is
cancelled at once. A call whose apology does not finish within `end_within_s` is cancelled
too, so a failing call never hangs. Errors from other processors are logged and counted.

`outcome` is what the call came to: "completed", "apologized" or "failed".
"""

import asyncio
import logging

from pipecat.frames.frames import EndFrame, ErrorFrame, TTSSpeakFrame
from pipecat.pipeline.worker import PipelineWorker

from pipeline.agent.call_metrics import service_kind
from pipeline.agent.metrics import ERRORS

log = logging.getLogger(__name__)

APOLOGY = "I'm sorry, I am having technical trouble and cannot help you right now. Goodbye."


class ServiceFailureHandler:
    """Watches one call's worker for service failures (see the module docstring)."""

    def __init__(self, worker: PipelineWorker, call_id: str, end_within_s: float = 20.0) -> None:
        self.outcome = "completed"
        self._worker = worker
        self._call_id = call_id
        self._end_within_s = end_within_s
        self._deadline: asyncio.Task | None = None
        worker.event_handler("on_pipeline_error")(self._on_error)
        worker.event_handler("on_pipeline_finished")(self._on_finished)

    async def _on_error(self, _worker: PipelineWorker, frame: ErrorFrame) -> None:
        service = service_kind(frame.processor)
        category = frame.category.value if frame.category else "unknown"
        ERRORS.labels(service, category).inc()
        log.error("call %s: %s failed (%s): %s", self._call_id, service, category, frame.error)
        if service == "other":
            return
        if service == "tts":
            await self._hang_up("TTS is down, so no apology can be spoken")
        elif self.outcome == "completed":
            self.outcome = "apologized"
            log.warning("call %s: apologizing to the caller and ending the call", self._call_id)
            await self._worker.queue_frames([TTSSpeakFrame(APOLOGY), EndFrame()])
            self._deadline = asyncio.create_task(self._cancel_later())

    async def _hang_up(self, why: str) -> None:
        if self.outcome == "failed":
            return
        self.outcome = "failed"
        log.warning("call %s: ending the call: %s", self._call_id, why)
        await self._worker.cancel()

    async def _cancel_later(self) -> None:
        await asyncio.sleep(self._end_within_s)
        await self._hang_up(f"the apology did not finish within {self._end_within_s:.0f} s")

    async def _on_finished(self, _worker: PipelineWorker, _frame: object) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
