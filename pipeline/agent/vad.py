"""Pipecat's Silero VAD analyzer, with one ONNX Runtime session for every call in the process.

In: VADParams and a sample rate, as for Pipecat's SileroVADAnalyzer (or the agent settings:
`agent_vad`). Out: an analyzer that decides exactly as stock does (the same Pipecat code
scores each window and resets the model's recurrent state), but whose model keeps only that
state per call and runs the process's shared session (models.silero_vad), where stock Pipecat
loads a session per call. `volume_smoothing` sets how fast the volume gate follows the
loudness (Pipecat's own 0.2 unless given; the agent's settings say why they differ).

Each chunk is analyzed on the event loop's thread, where stock hands every 20 ms chunk to a
thread of its own: the same code in the same order (one analyzer per call, each chunk awaited
before the next), without a thread-pool hand-off and wake-up per chunk. A Silero window costs
about 0.1 ms; most chunks run no window at all (a 32 ms window needs more than one 20 ms
chunk).
"""

import onnxruntime as ort
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams, VADState

from models.silero_vad import silero_session
from pipeline.settings import AgentSettings


class _CallState(SileroOnnxModel):
    """Pipecat's model wrapper without a session of its own: one call's recurrent state."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self.session = session
        self.reset_states()
        self.sample_rates = [8000, 16000]


class SharedSileroVADAnalyzer(SileroVADAnalyzer):
    """SileroVADAnalyzer whose model runs the process's shared session."""

    def __init__(
        self,
        *,
        sample_rate: int | None = None,
        params: VADParams | None = None,
        volume_smoothing: float | None = None,
    ):
        # SileroVADAnalyzer.__init__ would load a session; this sets up what it sets up.
        VADAnalyzer.__init__(self, sample_rate=sample_rate, params=params)
        if volume_smoothing is not None:
            self._smoothing_factor = volume_smoothing  # VADAnalyzer's exp_smoothing factor
        self._model = _CallState(silero_session())
        self._windows_since_reset = 0
        self._low_confidence_windows = 0

    async def analyze_audio(self, buffer: bytes) -> VADState:
        """The VAD state after `buffer` (stock's _run_analyzer, here rather than in a thread)."""
        return self._run_analyzer(buffer)


def vad_params(agent: AgentSettings) -> VADParams:
    """The agent's VAD parameters (agent.vad_*; the settings say why each has its value)."""
    return VADParams(
        confidence=agent.vad_confidence,
        start_secs=agent.vad_start_secs,
        stop_secs=agent.vad_stop_secs,
        min_volume=agent.vad_min_volume,
    )


def agent_vad(agent: AgentSettings) -> SharedSileroVADAnalyzer:
    """The VAD one call of the agent runs."""
    return SharedSileroVADAnalyzer(
        params=vad_params(agent), volume_smoothing=agent.vad_volume_smoothing
    )
