"""Prometheus observations of one call, from Pipecat's own measurements.

In: a call's PipelineWorker (built with enable_metrics=True). Out: observers on it that feed
switchboard_agent_service_ttfb_seconds (each MetricsFrame's TTFB data, labelled by the
service that measured it) and switchboard_agent_response_latency_seconds (Pipecat's
UserBotLatencyObserver: the caller's VAD stop to the agent's first audio), both in the
call's one observer proxy (pipeline/agent/call_observers.py).
"""

from pipecat.frames.frames import MetricsFrame
from pipecat.metrics.metrics import TTFBMetricsData
from pipecat.observers.base_observer import BaseObserver, FramePushed
from pipecat.pipeline.worker import PipelineWorker
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.services.llm_service import LLMService
from pipecat.services.stt_service import STTService
from pipecat.services.tts_service import TTSService

from pipeline.agent.call_observers import call_observers
from pipeline.agent.metrics import RESPONSE_LATENCY, SERVICE_TTFB

_KINDS = ((STTService, "stt"), (LLMService, "llm"), (TTSService, "tts"))


def service_kind(processor: FrameProcessor | None) -> str:
    """'stt', 'llm' or 'tts' for Pipecat's services, 'other' for any other processor."""
    return next((kind for cls, kind in _KINDS if isinstance(processor, cls)), "other")


class ServiceTTFBObserver(BaseObserver):
    """Observes every TTFB a service reports in a MetricsFrame."""

    def __init__(self) -> None:
        super().__init__(observe_every_push=False)

    async def on_push_frame(self, data: FramePushed) -> None:
        if not isinstance(data.frame, MetricsFrame):
            return
        for item in data.frame.data:
            if isinstance(item, TTFBMetricsData) and item.value > 0:
                SERVICE_TTFB.labels(service_kind(data.source)).observe(item.value)


def measure_call(worker: PipelineWorker) -> None:
    """Attach the metric observers to a call's worker (before it runs)."""
    observers = call_observers(worker)
    observers.add(ServiceTTFBObserver())

    async def _measured(_observer: object, seconds: float) -> None:
        RESPONSE_LATENCY.observe(seconds)

    observers.latency.add_event_handler("on_latency_measured", _measured)
