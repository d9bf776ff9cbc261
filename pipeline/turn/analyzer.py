"""A drop-in replacement for Pipecat's LocalSmartTurnAnalyzerV3 that uses the shared engine.

Same parameters (SmartTurnParams) and the same audio buffering as stock Pipecat (it inherits
BaseSmartTurn), but instead of one ONNX session and one thread per call, every call's turn
question goes to the process-wide batching engine. Switching a pipeline is one line:

    turn_analyzer=SharedSmartTurnAnalyzer(params=SmartTurnParams())

If the engine is overloaded or misses the deadline, the turn is decided without the model
(by default: Pipecat's silence timeout, `stop_secs`) and the fallback metric counts it;
`last_fallback` says why (overloaded, deadline, error) until the next ask.
"""

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.audio.turn.smart_turn.base_smart_turn import BaseSmartTurn
from pipecat.metrics.metrics import MetricsData, TurnMetricsData

from pipeline.settings import TurnSettings
from pipeline.turn.engine_registry import shared_engine
from pipeline.turn.interface import TurnEngine
from pipeline.turn.local_engine import TurnEngineOverloaded
from pipeline.turn.metrics import TURN_DECISION, TURN_FALLBACKS, TURN_PROBABILITY

log = logging.getLogger(__name__)


class SharedSmartTurnAnalyzer(BaseSmartTurn):
    def __init__(
        self,
        *,
        engine: TurnEngine | None = None,
        settings: TurnSettings | None = None,
        smart_turn_model_path: str | None = None,
        cpu_count: int | None = None,
        **kwargs: Any,
    ) -> None:
        """`engine` defaults to the process-wide one built from `settings`; the stock
        arguments `smart_turn_model_path` and `cpu_count` are honoured when no engine is given."""
        super().__init__(**kwargs)
        settings = settings or TurnSettings()
        if smart_turn_model_path or cpu_count:
            settings = settings.model_copy(
                update={
                    "model_path": Path(smart_turn_model_path) if smart_turn_model_path else None,
                    "cpu_threads": cpu_count,
                }
            )
        self._turn_settings = settings
        self._engine = engine or shared_engine(settings)
        self.last_fallback: str | None = None  # why the last ask had no answer (None: it had)

    async def analyze_end_of_turn(self) -> tuple[EndOfTurnState, MetricsData | None]:
        self.last_fallback = None
        segment = self._take_segment()
        if segment is None:
            return EndOfTurnState.INCOMPLETE, None
        started = time.perf_counter()
        try:
            probability = await asyncio.wait_for(
                self._engine.submit(segment, self.sample_rate, self._params.max_duration_secs),
                timeout=self._turn_settings.deadline_ms / 1000,
            )
        except Exception as exc:  # overloaded, past the deadline, or the engine failed
            TURN_DECISION.observe(time.perf_counter() - started)
            return self._fallback(exc), None
        TURN_DECISION.observe(time.perf_counter() - started)
        TURN_PROBABILITY.observe(probability)
        state = EndOfTurnState.COMPLETE if probability > 0.5 else EndOfTurnState.INCOMPLETE
        if state == EndOfTurnState.COMPLETE:
            self._clear(state)
        return state, TurnMetricsData(
            processor="SharedSmartTurnAnalyzer",
            is_complete=state == EndOfTurnState.COMPLETE,
            probability=probability,
            e2e_processing_time_ms=(time.perf_counter() - started) * 1000,
        )

    def _fallback(self, exc: BaseException) -> EndOfTurnState:
        reason = {TurnEngineOverloaded: "overloaded", TimeoutError: "deadline"}.get(
            type(exc), "error"
        )
        TURN_FALLBACKS.labels(reason).inc()
        self.last_fallback = reason
        log.warning("turn decided without the model (%s): %s", reason, exc)
        if self._turn_settings.fallback == "complete":
            self._clear(EndOfTurnState.COMPLETE)
            return EndOfTurnState.COMPLETE
        return EndOfTurnState.INCOMPLETE  # append_audio ends the turn after stop_secs

    def _take_segment(self) -> np.ndarray | None:
        """The int16 audio Pipecat would score: from pre-speech padding to now, at most
        max_duration_secs (the same selection as BaseSmartTurn._process_speech_segment)."""
        if not self._audio_buffer:
            return None
        pre_speech_secs = self._params.pre_speech_ms / 1000 + self._vad_start_secs
        start_time = self._speech_start_time - pre_speech_secs
        start = next((i for i, (t, _) in enumerate(self._audio_buffer) if t >= start_time), 0)
        segment = np.concatenate([chunk for _, chunk in self._audio_buffer[start:]])
        max_samples = int(self._params.max_duration_secs * self.sample_rate)
        segment = segment[-max_samples:]
        return segment if len(segment) else None

    def _predict_endpoint(self, audio_array: np.ndarray) -> dict[str, Any]:
        """Blocking form, for callers of BaseSmartTurn's synchronous path."""
        future = self._engine.submit_nowait(audio_array, self.sample_rate)
        probability = future.result(timeout=self._turn_settings.deadline_ms / 1000)
        return {"prediction": int(probability > 0.5), "probability": probability}
