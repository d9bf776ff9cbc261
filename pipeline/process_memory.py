"""Keeping a long-running server's memory flat: how freed memory goes back to the system, and
how Python finds the garbage a finished call leaves.

`release_large_blocks()`: glibc's malloc serves a large block from its heaps once a block of
that size has been freed (it raises its mmap threshold as it goes, up to 32 MB), and a heap
holding a few live small blocks cannot shrink. Audio buffers, model inputs and outputs come
and go in every call, on many threads, so a server's heaps kept growing. A fixed threshold
maps each block of 128 KiB or more on its own, and freeing it unmaps it. An operator's own
MALLOC_MMAP_THRESHOLD_ wins.

`freeze_loaded_objects()` and `collect_finished_calls()`: a finished Pipecat call is a web of
reference cycles (its pipeline, services, sessions, queued audio), freed only by a full
collection. Python starts one when the objects that survived since the last reach a quarter
of all long-lived ones; models and libraries make those hundreds of thousands, so a full
collection came only every few dozen calls, and meanwhile each dead call held its memory.
So the agent runs one after every call. Freezing what is loaded at startup takes those
objects out of every collection's work: 5-10 ms a collection in a soak, against 0.2-0.4 s
over all of them.
"""

import ctypes
import ctypes.util
import gc
import logging
import os
import time

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


def collect_finished_calls() -> tuple[int, float]:
    """A full collection now; returns the objects it found unreachable and the seconds it took
    (the calling thread, and with it the event loop, waits that long)."""
    started = time.perf_counter()
    found = gc.collect()
    return found, time.perf_counter() - started
