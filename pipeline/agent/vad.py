"""Pipecat's Silero VAD analyzer, with one ONNX Runtime session for every call in the process.

In: VADParams and a sample rate, as for Pipecat's SileroVADAnalyzer. Out: an analyzer that
decides exactly as stock does (the same Pipecat code scores each window and resets the
model's recurrent state), but whose model keeps only that state per call and runs the
process's shared session (models.silero_vad), where stock Pipecat loads a session per call.
"""

import onnxruntime as ort
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams

from models.silero_vad import silero_session


class _CallState(SileroOnnxModel):
    """Pipecat's model wrapper without a session of its own: one call's recurrent state."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self.session = session
        self.reset_states()
        self.sample_rates = [8000, 16000]


class SharedSileroVADAnalyzer(SileroVADAnalyzer):
    """SileroVADAnalyzer whose model runs the process's shared session."""

    def __init__(self, *, sample_rate: int | None = None, params: VADParams | None = None):
        # SileroVADAnalyzer.__init__ would load a session; this sets up what it sets up.
        VADAnalyzer.__init__(self, sample_rate=sample_rate, params=params)
        self._model = _CallState(silero_session())
        self._windows_since_reset = 0
        self._low_confidence_windows = 0
