"""Freed native memory goes back to the OS after a call (glibc's malloc_trim)."""

import asyncio
import ctypes
import ctypes.util
import sys

import pytest

from pipeline.agent.heap_trim import release_freed_heap, release_freed_heap_soon

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="glibc heap")

CHUNK = 8192  # under glibc's mmap threshold: from the heap, like a call's many small buffers
COUNT = 12_000  # ~94 MB


def _anon_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no RssAnon")


def test_freed_heap_chunks_are_given_back() -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    release_freed_heap()
    chunks = [libc.malloc(CHUNK) for _ in range(COUNT)]
    for chunk in chunks:
        ctypes.memset(chunk, 1, CHUNK)  # touch: resident
    keep = libc.malloc(CHUNK)  # above them: glibc's own trim of the heap's top cannot free them
    for chunk in chunks:
        libc.free(chunk)
    held = _anon_mb()
    assert release_freed_heap()
    released = held - _anon_mb()
    libc.free(keep)
    assert released > 0.8 * CHUNK * COUNT / 2**20


def test_the_async_form_runs_off_the_loop() -> None:
    asyncio.run(release_freed_heap_soon())
