"""A call's turn events: who spoke when, every turn question and its answer, each turn's end
and where each answer's latency went.

In: the call's frames (an observer on its PipelineWorker: Silero VAD's start and stop, the
agent's audio starting and stopping), the stop strategy's on_turn_ask
(pipeline/turn/stop_strategy.py; in the stock turn mode, the analyzer's TurnMetricsData),
the user aggregator's on_user_turn_stopped, and Pipecat's latency breakdown
(the call's UserBotLatencyObserver, pipeline/agent/call_observers.py, and
pipeline/agent/turn_stages.py). Out: events handed
to each sink as (kind, epoch seconds, fields):

    caller_started  {"barge_in": bool}            the caller's first word (VAD start less
                                                  its start_secs); barge_in: over the agent
    caller_stopped  {}                            the caller's last word (VAD stop less stop_secs)
    turn_ask        {"probability", "verdict", "reason", "hold_ms", "decision_ms"}
    turn_end        {}                            the caller's turn released to the LLM
    agent_started   {} / agent_stopped {"interrupted": bool}
    turn_latency    {"stages_ms": {...}}          at the agent's first audio of an answer

The sinks: the transcripts file (file_sink), the stage histogram (stage_metrics) and, on a
browser call, the console page's RTVI server messages (rtvi_sink; pipeline/demo/page/).
"""

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    InterruptionFrame,
    MetricsFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.metrics.metrics import TurnMetricsData
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.observers.user_bot_latency_observer import LatencyBreakdown, MeasuredFrom
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.processors.frameworks.rtvi.frames import RTVIServerMessageFrame

from pipeline.agent.call_observers import call_observers
from pipeline.agent.metrics import TURN_STAGES
from pipeline.agent.transcripts import TranscriptWriter
from pipeline.agent.turn_stages import stages_ms
from pipeline.turn.stop_strategy import HoldingTurnStopStrategy, TurnAsk

log = logging.getLogger(__name__)

Sink = Callable[[str, float, dict], Awaitable[None]]
CONSOLE_MESSAGE = "switchboard-turn"  # the RTVI server messages' data.type (page/console.js)
KINDS = (
    "caller_started",
    "caller_stopped",
    "turn_ask",
    "turn_end",
    "agent_started",
    "agent_stopped",
    "turn_latency",
)


def file_sink(writer: TranscriptWriter) -> Sink:
    """A sink that writes each event to the call's transcripts file."""

    async def write(kind: str, at: float, fields: dict) -> None:
        writer.event(kind, at, fields)

    return write


def rtvi_sink(worker: PipelineWorker) -> Sink:
    """A sink that sends each event to the browser console as an RTVI server message of our
    own type (Pipecat's RTVI observer forwards no turn metrics): {"type": CONSOLE_MESSAGE,
    "kind": ..., "at": epoch seconds, ...fields}."""

    async def send(kind: str, at: float, fields: dict) -> None:
        data = {"type": CONSOLE_MESSAGE, "kind": kind, "at": at, **fields}
        await worker.queue_frame(RTVIServerMessageFrame(data=data))

    return send


async def stage_metrics(kind: str, _at: float, fields: dict) -> None:
    """A sink that observes each answer's stages in switchboard_agent_turn_stage_seconds."""
    if kind == "turn_latency":
        for stage, ms in fields["stages_ms"].items():
            TURN_STAGES.labels(stage).observe(max(0.0, ms) / 1000)


def stock_ask(metrics: TurnMetricsData) -> TurnAsk:
    """An ask as stock Pipecat's turn strategy reports it: a verdict at 0.5, no hold."""
    verdict = "complete" if metrics.is_complete else "incomplete"
    return TurnAsk(metrics.probability, verdict, None, 0.0, metrics.e2e_processing_time_ms)


class TurnEvents(BaseObserver):
    """Turns one call's frames and turn-policy events into turn events for the sinks."""

    def __init__(self, sinks: list[Sink]) -> None:
        super().__init__(observe_every_push=False)
        self._sinks = sinks
        self._agent_speaking = False
        self._interrupted = False
        self._asks_from_metrics = True  # until a strategy reports its own (on_turn_ask)

    def attach(self, worker: PipelineWorker, user: FrameProcessor, strategy: object) -> None:
        """Observe `worker`'s frames, `user`'s turn ends, `strategy`'s asks (on_turn_ask in the
        smart turn mode; otherwise the analyzer's TurnMetricsData, as stock Pipecat reports
        it), and Pipecat's latency breakdown of each answer; in the call's one observer proxy."""
        observers = call_observers(worker)
        observers.add(self)
        observers.latency.add_event_handler("on_latency_breakdown", self._latency)
        user.add_event_handler("on_user_turn_stopped", self._turn_end)
        if isinstance(strategy, HoldingTurnStopStrategy):
            strategy.add_event_handler("on_turn_ask", self._ask)
            self._asks_from_metrics = False

    async def emit(self, kind: str, at: float, fields: dict | None = None) -> None:
        """Hand one event to every sink; a sink that fails is logged and the call goes on."""
        for sink in self._sinks:
            try:
                await sink(kind, at, fields or {})
            except Exception:
                log.exception("turn event %s not delivered", kind)

    async def on_push_frame(self, data: FramePushed) -> None:
        frame = data.frame
        if data.direction != FrameDirection.DOWNSTREAM:
            return
        if isinstance(frame, VADUserStartedSpeakingFrame):
            at = frame.timestamp - frame.start_secs
            await self.emit("caller_started", at, {"barge_in": self._agent_speaking})
        elif isinstance(frame, VADUserStoppedSpeakingFrame):
            await self.emit("caller_stopped", frame.timestamp - frame.stop_secs)
        elif isinstance(frame, InterruptionFrame) and self._agent_speaking:
            self._interrupted = True
        elif isinstance(frame, BotStartedSpeakingFrame):
            self._agent_speaking, self._interrupted = True, False
            await self.emit("agent_started", time.time())
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._agent_speaking = False
            await self.emit("agent_stopped", time.time(), {"interrupted": self._interrupted})
        elif isinstance(frame, MetricsFrame) and self._asks_from_metrics:
            for item in frame.data:
                if isinstance(item, TurnMetricsData):
                    await self._ask(None, stock_ask(item))

    async def _ask(self, _strategy: object, ask: TurnAsk) -> None:
        fields = asdict(ask)
        fields["hold_ms"] = round(ask.hold_ms, 1)
        await self.emit("turn_ask", time.time(), fields)

    async def _turn_end(self, _aggregator: object, _strategy: object, _message: object) -> None:
        await self.emit("turn_end", time.time())

    async def _latency(self, _observer: object, breakdown: LatencyBreakdown) -> None:
        if breakdown.measured_from is not MeasuredFrom.USER_SILENCE:  # the greeting
            return
        await self.emit("turn_latency", time.time(), {"stages_ms": stages_ms(breakdown)})
