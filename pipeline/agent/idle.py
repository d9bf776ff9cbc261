"""A silent caller: a prompt after agent.idle_prompt_s, a goodbye and the hang-up later.

In: the user aggregator's `on_user_turn_idle` (Pipecat's UserIdleController: the caller has
said nothing for the current timeout since the agent stopped speaking) and
`on_user_turn_started` events. Out: frames queued on the call's worker:
UserIdleTimeoutUpdateFrame (set when the call starts, changed after the prompt and whenever
the caller speaks again), IDLE_PROMPT spoken once, then IDLE_GOODBYE and EndWorkerFrame (the
pipeline ends and the carrier hangs up, as after the end_call tool).

Timeline after the agent's last words: idle_prompt_s of silence -> IDLE_PROMPT; then
idle_hangup_s - idle_prompt_s more after the prompt -> goodbye and hang-up. A caller who
speaks resets it. idle_prompt_s 0: no prompt, the hang-up after idle_hangup_s;
idle_hangup_s 0: the prompt only, no hang-up; both 0: off.
"""

import logging

from pipecat.frames.frames import EndWorkerFrame, TTSSpeakFrame, UserIdleTimeoutUpdateFrame
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameProcessor

from pipeline.settings import AgentSettings

log = logging.getLogger(__name__)

IDLE_PROMPT = "Are you still there? How can I help you?"
IDLE_GOODBYE = "I have not heard from you, so I will end the call now. Goodbye."
MIN_AFTER_PROMPT_S = 2.0  # the caller always gets this long to answer the prompt


class CallerIdle:
    """Watches one call's caller for silence (see the module docstring)."""

    def __init__(
        self, worker: PipelineWorker, user: FrameProcessor, agent: AgentSettings, call_id: str
    ) -> None:
        self._worker = worker
        self._call_id = call_id
        prompt_s, hangup_s = agent.idle_prompt_s, agent.idle_hangup_s
        self._first_s = prompt_s or hangup_s
        # After the prompt: the rest of idle_hangup_s (at least MIN_AFTER_PROMPT_S); 0: never.
        self._after_prompt_s = max(hangup_s - prompt_s, MIN_AFTER_PROMPT_S) if hangup_s else 0.0
        self._has_prompt = prompt_s > 0
        self._prompted = not self._has_prompt  # no prompt: the first idle hangs up
        self._ended = False
        user.event_handler("on_user_turn_idle")(self._on_idle)
        user.event_handler("on_user_turn_started")(self._on_caller_spoke)

    @property
    def enabled(self) -> bool:
        return self._first_s > 0

    def first_timeout(self) -> UserIdleTimeoutUpdateFrame:
        """The frame that arms idle detection when the call starts."""
        return UserIdleTimeoutUpdateFrame(timeout=self._first_s)

    async def _on_caller_spoke(self, _aggregator: object, _strategy: object) -> None:
        if self._prompted and self._has_prompt:
            self._prompted = False
            await self._worker.queue_frame(self.first_timeout())

    async def _on_idle(self, _aggregator: object) -> None:
        if self._ended:
            return
        if not self._prompted:
            self._prompted = True
            log.info("call %s: the caller is silent; prompting", self._call_id)
            timeout = UserIdleTimeoutUpdateFrame(timeout=self._after_prompt_s)
            await self._worker.queue_frames([timeout, TTSSpeakFrame(IDLE_PROMPT)])
            return
        self._ended = True
        log.info("call %s: the caller stayed silent; hanging up", self._call_id)
        await self._worker.queue_frames(
            [TTSSpeakFrame(IDLE_GOODBYE), EndWorkerFrame(reason="the caller stayed silent")]
        )
