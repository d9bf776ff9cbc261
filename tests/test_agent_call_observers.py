"""A call's observers behind one proxy (pipeline/agent/call_observers.py): each sees in a real
Pipecat pipeline what it would see added to the worker itself, and the agent's metrics and
turn events share one proxy and one UserBotLatencyObserver."""

import asyncio

from pipecat.frames.frames import Frame, TextFrame
from pipecat.observers.base_observer import BaseObserver, FrameProcessed, FramePushed
from pipecat.observers.user_bot_latency_observer import UserBotLatencyObserver
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.filters.identity_filter import IdentityFilter
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.tests.utils import run_test

from pipeline.agent.call_metrics import measure_call
from pipeline.agent.call_observers import CallObservers, call_observers
from pipeline.agent.turn_events import TurnEvents


class _Recorder(BaseObserver):
    """Records the text of every TextFrame push it is told about (and processed frames)."""

    def __init__(self, every_push: bool) -> None:
        super().__init__(observe_every_push=every_push)
        self.pushed: list[str] = []
        self.processed = 0

    async def on_push_frame(self, data: FramePushed) -> None:
        if isinstance(data.frame, TextFrame):
            self.pushed.append(data.frame.text)

    async def on_process_frame(self, data: FrameProcessed) -> None:
        self.processed += 1


def _seen(every_push: bool, grouped: bool) -> list[str]:
    recorder = _Recorder(every_push)
    observer: BaseObserver = recorder
    if grouped:
        observer = CallObservers()
        observer.add(recorder)
    frames: list[Frame] = [TextFrame(text=f"t{i}") for i in range(5)]
    # Two processors between run_test's source and sink: each frame is pushed three times.
    chain = Pipeline([IdentityFilter(), IdentityFilter()])
    asyncio.run(run_test(chain, frames_to_send=frames, observers=[observer]))
    assert recorder.processed > 0
    return recorder.pushed


def test_a_grouped_observer_sees_what_it_sees_on_its_own() -> None:
    once = _seen(every_push=False, grouped=True)
    assert once == _seen(every_push=False, grouped=False) == [f"t{i}" for i in range(5)]
    every = _seen(every_push=True, grouped=True)
    assert every == _seen(every_push=True, grouped=False)
    assert len(every) > len(once)


def test_a_failing_member_does_not_stop_the_others() -> None:
    class Failing(BaseObserver):
        async def on_push_frame(self, data: FramePushed) -> None:
            raise RuntimeError("broken observer")

    group, recorder = CallObservers(), _Recorder(every_push=False)
    group.add(Failing())
    group.add(recorder)
    pushed = FramePushed(None, None, TextFrame(text="x"), FrameDirection.DOWNSTREAM, 0)
    asyncio.run(group.on_push_frame(pushed))
    assert recorder.pushed == ["x"]


def test_metrics_and_turn_events_share_one_proxy_and_one_latency_observer() -> None:
    worker = PipelineWorker(Pipeline([FrameProcessor()]))
    added: list[BaseObserver] = []
    worker.add_observer = added.append  # type: ignore[method-assign]
    measure_call(worker)
    TurnEvents([]).attach(worker, FrameProcessor(), strategy=None)
    group = call_observers(worker)
    assert added == [group]
    latency = [m for m in group._members if isinstance(m, UserBotLatencyObserver)]
    assert latency == [group.latency]
    handlers = group.latency._event_handlers
    assert handlers["on_latency_measured"].handlers and handlers["on_latency_breakdown"].handlers
