"""Keeping a long-running server's memory flat: how freed memory goes back to the system, and
how Python finds the garbage a finished call leaves.

`release_large_blocks()`: glibc's malloc serves a large block from its heaps once a block of
that size has been freed (it raises its mmap threshold as it goes, up to 32 MB), and a heap
holding a few live small blocks cannot shrink. Audio buffers, model inputs and outputs come
and go in every call, on many threads, so a server's heaps kept growing. A fixed threshold
maps each block of 128 KiB or more on its own, and freeing it unmaps it. An operator's own
MALLOC_MMAP_THRESHOLD_ wins.

`freeze_loaded_objects()`: a finished Pipecat call is a web of reference cycles, freed only by
a full collection, which Python starts when the objects that survived since the last one
reach a quarter of all long-lived objects. Models and libraries make those hundreds of
thousands, so full collections came every few dozen calls while each dead call held its
memory. Freezing what is loaded at startup leaves them out of that count (and out of each
full collection's work), so dead calls are collected within a call or two.
"""

import ctypes
import ctypes.util
import gc
import logging
import os

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # mallopt parameter number, from glibc's malloc.h
LARGE_BLOCK = 128 * 1024


def release_large_blocks(threshold: int = LARGE_BLOCK) -> bool:
    """Have malloc map blocks of `threshold` bytes or more on their own; True when it did
    (False on a C library other than glibc, or when MALLOC_MMAP_THRESHOLD_ is set)."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        log.debug("no glibc mallopt here; leaving the allocator as it is")
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))


def freeze_loaded_objects() -> int:
    """Collect, then move every object alive now into the permanent generation; returns how
    many were frozen. Call once, when the models are loaded and before calls arrive."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
