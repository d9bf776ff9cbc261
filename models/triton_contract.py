"""The `smart_turn` model on Triton: what it takes and gives, and the one function that scores.

In, per request: `audio` INT16 [n, 128000]: 16 kHz PCM, the last 8 s of the turn, zero-padded
at the start when shorter (the clip Pipecat feeds its model, models.clip).
Out, per request: `probability` FP32 [n, 1]: the probability that the turn is complete.
Requests are batched by Triton along a leading batch axis (max_batch_size > 0). Both Triton
folders score with `score_requests`: the PyTriton server (`switchboard turn-server`,
pipeline.triton.server) and the NGC model repository (models/triton/smart_turn/1/model.py).
"""

from collections.abc import Sequence

import numpy as np

from models.clip import CLIP_SAMPLES, to_float32
from models.runner import SmartTurnRunner

MODEL_NAME = "smart_turn"
INPUT_NAME = "audio"
INPUT_DTYPE = "INT16"
OUTPUT_NAME = "probability"
OUTPUT_DTYPE = "FP32"
INPUT_SHAPE = (CLIP_SAMPLES,)
OUTPUT_SHAPE = (1,)


def clip_to_int16(clip: np.ndarray) -> np.ndarray:
    """A prepared float32 clip in [-1, 1] → int16 PCM (exact for audio that was int16 at 16 kHz)."""
    return np.clip(np.round(clip * 32768.0), -32768, 32767).astype(np.int16)


def score_requests(runner: SmartTurnRunner, audio: Sequence[np.ndarray]) -> list[np.ndarray]:
    """One runner call for a batch of requests: each request's int16 clips [n, 128000] →
    its probabilities float32 [n, 1], in request order."""
    probabilities = runner.score(to_float32(np.concatenate(audio)))  # int16 / 32768, as Pipecat
    answers, start = [], 0
    for clips in audio:
        answers.append(probabilities[start : start + len(clips)].astype(np.float32).reshape(-1, 1))
        start += len(clips)
    return answers
