"""A runner that does everything a GPU runner does on the host, but not the model.

In: a batch of turn segments (`launch`). Out: the batch packed into one of two alternating
staging buffers, as the CUDA runner packs it before its one host-to-device copy, and, as
"probabilities", each segment's length over 8 s (so a test can see every turn reached its
place). `bench turn-engine --runner host-only` measures the engine's host path with it: what
the host must sustain so that it never holds a GPU back.
"""

from collections.abc import Sequence

import numpy as np

from models.clip import CLIP_SAMPLES
from models.packed_batch import Done, pack, staging_for


class HostOnlyRunner:
    device = "host"

    def __init__(self, max_batch: int) -> None:
        self._staging = [staging_for(max_batch), staging_for(max_batch)]
        self._next = 0

    def launch(self, segments: Sequence[np.ndarray]) -> Done:
        staging, offsets = self._staging[self._next]
        self._next ^= 1
        pack(segments, staging, offsets)
        lengths = np.diff(offsets[: len(segments) + 1])
        return Done((lengths / CLIP_SAMPLES).astype(np.float32))

    def score(self, clips: np.ndarray) -> np.ndarray:
        """Prepared clips → their share of non-padding samples (the warm-up calls this)."""
        return (np.count_nonzero(clips, axis=1) / CLIP_SAMPLES).astype(np.float32)
