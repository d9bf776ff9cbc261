"""The allocator and collector settings that keep a long-running server's memory flat."""

import gc
import os
import subprocess
import sys

import pytest

from pipeline.process_memory import (
    collect_finished_calls,
    freeze_loaded_objects,
    release_large_blocks,
)

# In a fresh interpreter: free one 1 MiB block, allocate another, and print how many bytes
# malloc holds in blocks mapped on their own (glibc's mallinfo2().hblkhd).
_PROBE = """
import ctypes, sys
from pipeline.process_memory import release_large_blocks
FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in FIELDS.split()]
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.mallinfo2.restype = Info
if sys.argv[1] == "release":
    assert release_large_blocks()
libc.free(libc.malloc(1 << 20))
block = libc.malloc(1 << 20)
print(libc.mallinfo2().hblkhd)
"""


def _mapped_after_reuse(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_MMAP_THRESHOLD_"}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, mode], env=env, capture_output=True, text=True, check=True
    )
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc is Linux's")
def test_large_blocks_are_mapped_on_their_own_even_after_one_was_freed() -> None:
    assert _mapped_after_reuse("default") < 1 << 20  # glibc raised its threshold: from a heap
    assert _mapped_after_reuse("release") >= 1 << 20


def test_an_operators_own_threshold_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert release_large_blocks() is False


def test_freezing_moves_what_is_loaded_out_of_the_collectors_count() -> None:
    try:
        frozen = freeze_loaded_objects()
        assert frozen > 1000  # pytest and its imports, at least
        # A frozen object freed since (by a thread an earlier test left) leaves the count.
        assert frozen * 0.99 < gc.get_freeze_count() <= frozen
        assert len(gc.get_objects()) < frozen
    finally:
        gc.unfreeze()


def test_a_collection_finds_garbage_in_cycles_and_says_how_long_it_took() -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    found, seconds = collect_finished_calls()
    assert found >= 1 and 0 <= seconds < 60
