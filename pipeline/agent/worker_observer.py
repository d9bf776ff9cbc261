"""Pipecat's worker observer, without queuing events that no observer reads.

In: one call's PipelineWorker (`observe_selectively(worker)`, before it runs). Out: the
worker's observers see what Pipecat's WorkerObserver shows them, less two kinds of event
that none of the agent's observers reads:

- a processed frame (FrameProcessed: every frame, at every processor) reaches only the
  observers that handle it: those whose class overrides `on_process_frame`, or that say so
  with a `reads_processed_frames` attribute (CallObservers: whether a member does);
- a push of the caller's audio (InputAudioRawFrame) reaches only the observers that read
  it: any observer but those that say they do not with `reads_caller_audio = False`
  (CallObservers) and Pipecat's idle watch, which reads only its idle frames.

Why: Pipecat's worker gives each observer a queue and a task, and each event it queues for
an observer is a queue put and a wake-up of that task. The caller's audio passes three
processors, so each of its frames made eight such wake-ups in a phone call (the idle
watch's and the call's observers'); none of those observers looks at it. What every
observer is told, and in which order, is otherwise Pipecat's own (the first-push rule
included).
"""

from pipecat.frames.frames import InputAudioRawFrame
from pipecat.observers.base_observer import BaseObserver, FrameProcessed, FramePushed
from pipecat.pipeline.worker import IdleFrameObserver, PipelineWorker
from pipecat.pipeline.worker_observer import WorkerObserver


def reads_processed_frames(observer: BaseObserver) -> bool:
    """Whether `observer` handles processed-frame events."""
    says = getattr(observer, "reads_processed_frames", None)
    if says is not None:
        return bool(says)
    return type(observer).on_process_frame is not BaseObserver.on_process_frame


def reads_caller_audio(observer: BaseObserver) -> bool:
    """Whether `observer` looks at pushes of the caller's audio frames."""
    if isinstance(observer, IdleFrameObserver):  # StartFrame and its idle frames only
        return issubclass(InputAudioRawFrame, observer._idle_timeout_frames)
    return bool(getattr(observer, "reads_caller_audio", True))


class SelectiveWorkerObserver(WorkerObserver):
    """WorkerObserver that queues an event only for the observers that read it."""

    async def on_process_frame(self, data: FrameProcessed) -> None:
        for proxy in (self._proxies or {}).values():
            if reads_processed_frames(proxy.observer):
                await proxy.queue.put(data)

    async def on_push_frame(self, data: FramePushed) -> None:
        if not self._proxies:
            return
        frame = data.frame
        data.first_push = frame.id not in self._frames_pushed
        if data.first_push:
            self._frames_pushed[frame.id] = frame
        caller_audio = isinstance(frame, InputAudioRawFrame)
        for proxy in self._proxies.values():
            observer = proxy.observer
            if not (data.first_push or observer.observe_every_push):
                continue
            if caller_audio and not reads_caller_audio(observer):
                continue
            await proxy.queue.put(data)


def observe_selectively(worker: PipelineWorker) -> None:
    """Give `worker` a SelectiveWorkerObserver with the observers it has (before it runs:
    its processors get the worker's observer when they are set up)."""
    current = worker._observer
    if isinstance(current, SelectiveWorkerObserver):
        return
    worker._observer = SelectiveWorkerObserver(observers=current._observers)
