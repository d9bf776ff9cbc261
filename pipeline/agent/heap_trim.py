"""Give the heap memory that ended calls freed back to the operating system.

In: nothing (called when a call ends). Out: glibc's malloc_trim(0) run in a worker thread,
so resident memory falls back after each call; a no-op where the C library is not glibc.
A call frees tens of MB of native buffers (audio, ONNX, gRPC); glibc keeps freed chunks in
its arenas, so without a trim the agent's RSS climbed call after call in a soak although
no Python objects accumulated.
"""

import asyncio
import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)


def _malloc_trim() -> ctypes._CFuncPtr | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


_TRIM = _malloc_trim()


def release_freed_heap() -> bool:
    """malloc_trim(0): True when the C library gave memory back."""
    return bool(_TRIM(0)) if _TRIM is not None else False


async def release_freed_heap_soon() -> None:
    """release_freed_heap off the event loop (it walks every arena: milliseconds)."""
    try:
        await asyncio.to_thread(release_freed_heap)
    except Exception as exc:  # never fail a call's teardown over it
        log.warning("malloc_trim failed: %s", exc)
