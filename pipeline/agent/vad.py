"""Pipecat's Silero VAD analyzer, with one ONNX Runtime session for every call in the process.

In: VADParams and a sample rate, as for Pipecat's SileroVADAnalyzer. Out: an analyzer that
decides exactly as stock does (the same Pipecat code scores each window and resets the
model's recurrent state), but whose model keeps only that state per call and runs the shared
session (onnxruntime sessions are safe to run from many threads).

Why: stock Pipecat loads a session per call. Besides the memory and the load time on every
call, a finished call's pipeline is cyclic garbage that Python frees only at a full
collection, which in a loaded agent comes rarely; until then each dead call kept its
session's native memory, and a soak grew by about 10 MB a call.
"""

import functools
from importlib.resources import files

import onnxruntime as ort
from pipecat.audio.vad.silero import SileroOnnxModel, SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams


@functools.cache
def shared_session() -> ort.InferenceSession:
    """The process's Silero session, loaded on first use with Pipecat's own options."""
    options = ort.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    path = files("pipecat.audio.vad.data").joinpath("silero_vad.onnx")
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


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
        self._model = _CallState(shared_session())
        self._windows_since_reset = 0
        self._low_confidence_windows = 0
