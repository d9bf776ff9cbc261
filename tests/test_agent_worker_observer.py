"""The selective worker observer (pipeline/agent/worker_observer.py), in a real Pipecat worker:
observers that read everything see what they see with Pipecat's own WorkerObserver; events
no observer reads (processed frames, pushes of the caller's audio) are not queued for it."""

import asyncio

from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    StartFrame,
    TextFrame,
    UserSpeakingFrame,
)
from pipecat.observers.base_observer import BaseObserver, FrameProcessed, FramePushed
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import IdleFrameObserver, PipelineWorker
from pipecat.processors.filters.identity_filter import IdentityFilter
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.workers.runner import WorkerRunner

from pipeline.agent.call_observers import CallObservers
from pipeline.agent.worker_observer import (
    SelectiveWorkerObserver,
    observe_selectively,
    reads_caller_audio,
    reads_processed_frames,
)


class _Everything(BaseObserver):
    """Records every push (frame type and source) and counts processed frames."""

    def __init__(self) -> None:
        super().__init__(observe_every_push=True)
        self.pushed: list[tuple[str, str]] = []
        self.processed = 0

    async def on_push_frame(self, data: FramePushed) -> None:
        self.pushed.append((type(data.frame).__name__, type(data.source).__name__))

    async def on_process_frame(self, data: FrameProcessed) -> None:
        self.processed += 1


class _PushesOnly(BaseObserver):
    """Records the types of the first pushes it is told about; no processed frames."""

    reads_caller_audio = False

    def __init__(self) -> None:
        super().__init__(observe_every_push=False)
        self.pushed: list[str] = []

    async def on_push_frame(self, data: FramePushed) -> None:
        self.pushed.append(type(data.frame).__name__)


class _ObserverOf(FrameProcessor):
    """Passes frames on and remembers the observer its setup handed it."""

    seen: object = None

    async def process_frame(self, frame: Frame, direction) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            type(self).seen = self._setup.observer if self._setup else None
        await self.push_frame(frame, direction)


def _frames() -> list[Frame]:
    audio = [InputAudioRawFrame(audio=b"\0\0" * 320, sample_rate=16000, num_channels=1)] * 4
    return [*audio, TextFrame(text="a"), *audio[:2], TextFrame(text="b")]


def _run(selective: bool, observers: list[BaseObserver]) -> list[int]:
    """Runs the frames through three processors; the number of events queued per proxy."""
    worker = PipelineWorker(
        Pipeline([IdentityFilter(), _ObserverOf(), IdentityFilter()]),
        observers=observers,
        cancel_on_idle_timeout=False,
        enable_rtvi=False,
    )
    if selective:
        observe_selectively(worker)
    puts = dict.fromkeys(observers, 0)
    original = worker._observer._create_proxy

    def counting_proxy(observer: BaseObserver):
        proxy = original(observer)
        put = proxy.queue.put

        async def counted(item: object) -> None:
            if isinstance(item, (FramePushed, FrameProcessed)):
                puts[observer] += 1
            await put(item)

        proxy.queue.put = counted
        return proxy

    worker._observer._create_proxy = counting_proxy

    @worker.event_handler("on_pipeline_started")
    async def _send(_worker: PipelineWorker, _frame: object) -> None:
        await worker.queue_frames([*_frames(), EndFrame()])

    async def run() -> None:
        runner = WorkerRunner()
        await runner.add_workers(worker)
        await runner.run()

    asyncio.run(run())
    return [puts[observer] for observer in observers]


def test_an_observer_that_reads_everything_sees_what_pipecat_shows_it() -> None:
    stock, selective = _Everything(), _Everything()
    _run(False, [stock])
    _run(True, [selective])
    assert _ObserverOf.seen is not None and isinstance(_ObserverOf.seen, SelectiveWorkerObserver)
    assert selective.pushed == stock.pushed
    assert sum(name == "InputAudioRawFrame" for name, _ in stock.pushed) >= 6 * 3
    assert selective.processed == stock.processed > 0


def test_events_no_observer_reads_are_not_queued() -> None:
    stock, selective = _PushesOnly(), _PushesOnly()
    stock_puts = _run(False, [stock])
    selective_puts = _run(True, [selective])
    assert "InputAudioRawFrame" in stock.pushed
    assert selective.pushed == [name for name in stock.pushed if name != "InputAudioRawFrame"]
    assert "TextFrame" in selective.pushed
    # Without processed frames and audio pushes, a small part of what stock queues.
    assert selective_puts[0] == len(selective.pushed) < stock_puts[0] / 4


def test_who_reads_what() -> None:
    group = CallObservers()
    assert not reads_processed_frames(group) and not reads_caller_audio(group)
    group.add(_Everything())
    assert reads_processed_frames(group)
    assert reads_processed_frames(_Everything()) and not reads_processed_frames(_PushesOnly())
    assert reads_caller_audio(_Everything()) and not reads_caller_audio(_PushesOnly())
    idle = IdleFrameObserver(idle_event=asyncio.Event(), idle_timeout_frames=(UserSpeakingFrame,))
    assert not reads_caller_audio(idle)
    listening = IdleFrameObserver(
        idle_event=asyncio.Event(), idle_timeout_frames=(InputAudioRawFrame,)
    )
    assert reads_caller_audio(listening)
