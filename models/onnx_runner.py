"""The CPU runner: the bundled int8 Smart Turn graph on ONNX Runtime, one shared session.

In: clips float32 [B, 128000] (`score`), or unpadded turn segments (`launch`: padded here as
Pipecat pads, then scored at once). Out: probabilities float32 [B].
The graph is used exactly as shipped and the features come from Pipecat's own float64 code
(the int8 graph quantizes its input, so the 1e-5 rounding of a float32 feature kernel would
move verdicts; a batched re-implementation of the float64 code was slower than Pipecat's),
hence probabilities equal stock Pipecat's. The gains over stock: one model copy for every call,
no per-call threads fighting over the cores, and first-come-first-served turns.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
import psutil
from pipecat.audio.turn.smart_turn._whisper_features import compute_whisper_log_mel_features

from models.packed_batch import Done, score_now
from models.smart_turn_file import INPUT_NAME


def default_threads() -> int:
    """One intra-op thread per physical core."""
    return psutil.cpu_count(logical=False) or psutil.cpu_count() or 1


class OnnxRunner:
    device = "cpu"

    def __init__(self, model_path: str | Path, threads: int | None = None) -> None:
        options = ort.SessionOptions()
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = threads or default_threads()
        # The worker runs batches back to back under load: let its threads spin between them.
        options.add_session_config_entry("session.intra_op.allow_spinning", "1")
        self.threads = options.intra_op_num_threads
        self._session = ort.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )

    def score(self, clips: np.ndarray) -> np.ndarray:
        # Pipecat's own feature code, clip by clip: see the module docstring.
        features = np.stack([compute_whisper_log_mel_features(clip) for clip in clips])
        (logits,) = self._session.run(None, {INPUT_NAME: features})
        return np.asarray(logits, dtype=np.float32).reshape(-1)

    def launch(self, segments: Sequence[np.ndarray]) -> Done:
        return score_now(self.score, segments)
