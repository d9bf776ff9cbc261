"""The `smart_turn` model on Triton: what it takes and gives, and the one function that scores.

In, per request: `audio` INT16 [n, L]: n turns of L samples, 16 kHz PCM, the end of each turn
as it is, not padded (models.clip.turn_segment: at most the last 8 s). A longer row is scored
by its last 8 s; a row front-padded to 128000 samples (what Pipecat feeds its model) is the
same turn. Out, per request: `probability` FP32 [n, 1]: the probability that the turn is
complete. Triton batches requests along a leading batch axis (max_batch_size > 0), and
requests of different L together: `audio` allows ragged batches (ALLOW_RAGGED). Both Triton
folders score with `score_requests`: the PyTriton server (`switchboard turn-server`,
pipeline.triton.server) and the NGC model repository (models/triton/smart_turn/1/model.py).
"""

from collections.abc import Sequence

import numpy as np

from models.clip import CLIP_SAMPLES
from models.runner import SmartTurnRunner

MODEL_NAME = "smart_turn"
INPUT_NAME = "audio"
INPUT_DTYPE = "INT16"
OUTPUT_NAME = "probability"
OUTPUT_DTYPE = "FP32"
INPUT_SHAPE = (-1,)
OUTPUT_SHAPE = (1,)
ALLOW_RAGGED = True


def to_int16(segment: np.ndarray) -> np.ndarray:
    """A turn segment (int16, or float32 in [-1, 1]) → int16 PCM for the wire (float rounded;
    exact for audio that was int16 at 16 kHz)."""
    if segment.dtype == np.int16:
        return segment
    return np.clip(np.rint(segment * 32768.0), -32768, 32767).astype(np.int16)


def score_requests(runner: SmartTurnRunner, audio: Sequence[np.ndarray]) -> list[np.ndarray]:
    """One runner launch for a batch of requests: each request's int16 turns [n, L] → its
    probabilities float32 [n, 1], in request order."""
    segments = [row[-CLIP_SAMPLES:] for clips in audio for row in clips]
    probabilities = runner.launch(segments).result()
    answers, start = [], 0
    for clips in audio:
        answers.append(probabilities[start : start + len(clips)].astype(np.float32).reshape(-1, 1))
        start += len(clips)
    return answers
