"""The process's one Silero VAD session, on the ONNX file that pipecat-ai bundles.

In: nothing. Out: `silero_session()`, an ONNX Runtime CPU session (one thread) loaded on first
use and shared by every stream in the process: the agent's Pipecat VAD analyzers
(pipeline.agent.vad) and the speech server's utterance detection (pipeline.speech.vad).
ONNX Runtime sessions are safe to run from many threads; each stream keeps its own recurrent
state.
"""

import functools
from importlib.resources import files

import onnxruntime as ort

BUNDLED_PACKAGE = "pipecat.audio.vad.data"
BUNDLED_NAME = "silero_vad.onnx"


@functools.cache
def silero_session() -> ort.InferenceSession:
    """The shared session: one intra-op and one inter-op thread, as Pipecat's own."""
    options = ort.SessionOptions()
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    path = files(BUNDLED_PACKAGE).joinpath(BUNDLED_NAME)
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
