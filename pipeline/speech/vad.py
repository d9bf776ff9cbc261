"""Silero voice activity detection: one shared model, a small recurrent state per stream.

In: 16 kHz float32 audio in 32 ms frames (512 samples). Out: the probability that each frame
is speech. Every stream runs the process's one Silero session (models.silero_vad, the ONNX
bundled in pipecat-ai) and keeps only its own state.
"""

import numpy as np
import onnxruntime as ort

from models.silero_vad import silero_session

RATE = 16000
FRAME = 512  # samples per VAD frame at 16 kHz (32 ms)
FRAME_MS = FRAME * 1000 // RATE
_CONTEXT = 64  # samples of the previous frame the model sees before each frame


class SileroVad:
    """The shared model. `stream()` gives each audio stream its own state."""

    def __init__(self) -> None:
        self._session = silero_session()

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
