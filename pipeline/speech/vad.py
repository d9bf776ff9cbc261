"""Silero voice activity detection: one shared model, a small recurrent state per stream.

In: 16 kHz float32 audio in 32 ms frames (512 samples). Out: the probability that each frame
is speech. The ONNX model is the one bundled in pipecat-ai; onnxruntime sessions are safe
to run from many threads, so every stream shares one session and keeps only its own state.
"""

from importlib.resources import files

import numpy as np
import onnxruntime as ort

RATE = 16000
FRAME = 512  # samples per VAD frame at 16 kHz (32 ms)
FRAME_MS = FRAME * 1000 // RATE
_CONTEXT = 64  # samples of the previous frame the model sees before each frame


class SileroVad:
    """The shared model. `stream()` gives each audio stream its own state."""

    def __init__(self) -> None:
        path = files("pipecat.audio.vad.data").joinpath("silero_vad.onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def stream(self) -> "VadStream":
        return VadStream(self._session)


class VadStream:
    """Speech probability for consecutive frames of one stream."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self._session = session
        self.reset()

    def reset(self) -> None:
        """Forget the past (the model drifts on long non-speech; reset between utterances)."""
        self._state = np.zeros((2, 1, 128), dtype=np.float32)
        self._context = np.zeros((1, _CONTEXT), dtype=np.float32)

    def probability(self, frame: np.ndarray) -> float:
        """One 512-sample frame -> P(speech)."""
        x = np.concatenate([self._context, frame.reshape(1, FRAME).astype(np.float32)], axis=1)
        out, self._state = self._session.run(
            None, {"input": x, "state": self._state, "sr": np.array(RATE, dtype=np.int64)}
        )
        self._context = x[:, -_CONTEXT:]
        return float(out[0, 0])
