"""A call's own observers behind one of Pipecat's observer proxies, and one latency observer.

In: a call's PipelineWorker, and the observers the agent attaches to it (metrics, turn
events). Out: `call_observers(worker)`, the worker's one CallObservers: each observer added
to it sees what it would see added to the worker itself (every first push, or every push
when it asks for them; processed frames, processor setups, the pipeline's start), in the
order the worker reports them, but for the caller's audio frames (InputAudioRawFrame), which
no member reads and the worker does not queue for the group (pipeline/agent/worker_observer.py);
and its `latency`, the call's one UserBotLatencyObserver, whose
events (on_latency_measured, on_latency_breakdown) every user of the call's latency shares.

Why: Pipecat's worker gives every observer a queue and a task of its own and puts each
frame's every hop (a processed frame, at each processor) on every queue; a call's audio makes
hundreds of such hops a second. One proxy for the agent's observers pays that once.
"""

import logging
import weakref
from collections.abc import Awaitable

from pipecat.frames.frames import InputAudioRawFrame
from pipecat.observers.base_observer import (
    BaseObserver,
    FrameProcessed,
    FramePushed,
    ProcessorSetUp,
)
from pipecat.observers.user_bot_latency_observer import UserBotLatencyObserver
from pipecat.pipeline.worker import PipelineWorker
from pipecat.utils.asyncio.task_manager import BaseTaskManager

log = logging.getLogger(__name__)


class CallObservers(BaseObserver):
    """Observers run one after the other, for each event, in one Pipecat observer proxy."""

    reads_caller_audio = False  # no member is shown the caller's audio frames

    def __init__(self) -> None:
        super().__init__(observe_every_push=False)
        self._members: list[BaseObserver] = []
        self._processing: list[BaseObserver] = []  # members that handle processed frames
        self._latency: UserBotLatencyObserver | None = None

    @property
    def latency(self) -> UserBotLatencyObserver:
        """The call's UserBotLatencyObserver (a member, added on first use)."""
        if self._latency is None:
            self._latency = UserBotLatencyObserver()
            self.add(self._latency)
        return self._latency

    @property
    def reads_processed_frames(self) -> bool:
        """Whether a member handles processed-frame events."""
        return bool(self._processing)

    def add(self, observer: BaseObserver) -> None:
        """Add a member; before the call runs (members are set up with the worker)."""
        self._members.append(observer)
        self._observe_every_push |= observer.observe_every_push  # Pipecat reads this per push
        if type(observer).on_process_frame is not BaseObserver.on_process_frame:
            self._processing.append(observer)

    async def setup(self, task_manager: BaseTaskManager) -> None:
        await super().setup(task_manager)
        for member in self._members:
            await member.setup(task_manager)

    async def cleanup(self) -> None:
        await super().cleanup()
        for member in self._members:
            await member.cleanup()

    async def on_pipeline_started(self) -> None:
        for member in self._members:
            await _guarded(member, member.on_pipeline_started())

    async def on_push_frame(self, data: FramePushed) -> None:
        if isinstance(data.frame, InputAudioRawFrame):
            return
        for member in self._members:
            if data.first_push or member.observe_every_push:
                try:
                    await member.on_push_frame(data)
                except Exception:
                    log.exception("observer %s failed", member)

    async def on_process_frame(self, data: FrameProcessed) -> None:
        for member in self._processing:
            await _guarded(member, member.on_process_frame(data))

    async def on_processor_setup(self, data: ProcessorSetUp) -> None:
        for member in self._members:
            await _guarded(member, member.on_processor_setup(data))


async def _guarded(member: BaseObserver, step: Awaitable[None]) -> None:
    """Await one member's step; a member that fails is logged and the others still see it."""
    try:
        await step
    except Exception:
        log.exception("observer %s failed", member)


_GROUPS: "weakref.WeakKeyDictionary[PipelineWorker, CallObservers]" = weakref.WeakKeyDictionary()


def call_observers(worker: PipelineWorker) -> CallObservers:
    """The worker's CallObservers, added to it on first use."""
    group = _GROUPS.get(worker)
    if group is None:
        group = _GROUPS[worker] = CallObservers()
        worker.add_observer(group)
    return group
