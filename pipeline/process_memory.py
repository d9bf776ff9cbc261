"""Keeping a long-running server's memory flat: freed large blocks go back to the system, and
the garbage a finished call leaves is collected when the call ends.

In: nothing (process-wide switches). Out:
`release_large_blocks()`: has glibc's malloc map each block of 128 KiB or more on its own, so
freeing it unmaps it. glibc otherwise serves large blocks from its heaps once a block of that
size has been freed (raising its mmap threshold up to 32 MB), and a heap that holds a few live
small blocks cannot shrink; audio buffers and model inputs and outputs come and go in every
call, on many threads. An operator's own MALLOC_MMAP_THRESHOLD_ wins.
`freeze_loaded_objects()`: moves what is loaded at startup (models, libraries: hundreds of
thousands of objects) into the permanent generation, out of every later collection's work.
`collect_finished_calls()`: a full collection, run after every call. A finished Pipecat call
is a web of reference cycles (its pipeline, services, sessions, queued audio) that only a
full collection frees, and Python starts one on its own only when the objects that survived
since the last reach a quarter of all long-lived ones, which is rarely in a loaded agent.
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
