"""A batch of turns packed back to back, so that a batch is one copy, not one per turn.

In: each turn's segment (models.clip.turn_segment: at most 128000 samples at 16 kHz, int16 or
float32 in [-1, 1]). Out: `pack` writes them into a preallocated int16 staging buffer and fills
`offsets` (segment i is `staging[offsets[i]:offsets[i + 1]]`); a runner turns that into
front-padded clips on its own device. `launch` (every runner has one) returns a `Pending`
whose `result()` is the batch's probabilities, so the engine can pack the next batch while
this one runs.
"""

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from models.clip import CLIP_SAMPLES, pad_clip


class Pending(Protocol):
    def result(self) -> np.ndarray:
        """float32 [B]: the probabilities, once the batch has run (blocks until then)."""
        ...


class Done:
    """A `Pending` whose batch has already run (CPU runners score inside `launch`)."""

    def __init__(self, probabilities: np.ndarray) -> None:
        self._probabilities = probabilities

    def result(self) -> np.ndarray:
        return self._probabilities


def score_now(score: Callable[[np.ndarray], np.ndarray], segments: Sequence[np.ndarray]) -> Done:
    """`launch` for a runner that scores padded clips at once (the CPU runners): the segments
    padded as Pipecat pads them (models.clip.pad_clip), scored before this returns."""
    return Done(score(np.stack([pad_clip(segment) for segment in segments])))


def staging_for(max_batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Host buffers for the largest batch: int16 samples [max_batch * 128000] and int64
    offsets [max_batch + 1]."""
    return np.zeros(max_batch * CLIP_SAMPLES, np.int16), np.zeros(max_batch + 1, np.int64)


def pack(segments: Sequence[np.ndarray], staging: np.ndarray, offsets: np.ndarray) -> int:
    """Write `segments` back to back into `staging` and their bounds into `offsets`; returns the
    number of samples written. Float segments are rounded to int16 (exact for audio that was
    int16). Raises ValueError when a segment is over 8 s or the batch does not fit."""
    if len(segments) + 1 > len(offsets):
        raise ValueError(f"{len(segments)} segments, staging holds {len(offsets) - 1}")
    end = 0
    offsets[0] = 0
    for i, segment in enumerate(segments):
        n = len(segment)
        if n > CLIP_SAMPLES or end + n > len(staging):
            raise ValueError(f"segment {i} ({n} samples) does not fit the staging buffer")
        target = staging[end : end + n]
        if segment.dtype == np.int16:
            target[:] = segment
        else:
            np.clip(np.rint(segment * 32768.0), -32768, 32767, out=target, casting="unsafe")
        end += n
        offsets[i + 1] = end
    return end
