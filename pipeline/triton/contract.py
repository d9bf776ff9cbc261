"""What the `smart_turn` model on Triton takes and gives; shared by server, client and tests.

In, per request: `audio` INT16 [128000]: 16 kHz PCM, the last 8 s of the turn, zero-padded at
the start when shorter (exactly the clip Pipecat feeds its model, see pipeline.turn.clip).
Out, per request: `probability` FP32 [1]: the probability that the turn is complete.
Requests are batched by Triton along a leading batch axis (max_batch_size > 0).
"""

import numpy as np

from pipeline.turn.clip import CLIP_SAMPLES

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
