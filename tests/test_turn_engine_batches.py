"""The local engine's batch path without a model: answers reach the right caller on the right
event loop, one batch runs while the next is gathered, a failed warm-up is reported, and
`bench turn-engine` measures it all and writes its JSON."""

import asyncio
import json
import subprocess
import sys
import threading

import numpy as np
import pytest

from models.clip import CLIP_SAMPLES
from models.packed_batch import Done
from pipeline.bench.turn_engine.host_only_runner import HostOnlyRunner
from pipeline.bench.turn_engine.load import run_load
from pipeline.bench.turn_engine.segments import mixed_segments
from pipeline.turn.local_engine import BatchingTurnEngine


def _segment(samples: int) -> np.ndarray:
    return np.full(samples, 100, dtype=np.int16)


def _engine(runner: object, **kwargs: float) -> BatchingTurnEngine:
    engine = BatchingTurnEngine(runner, deadline_ms=60_000, **kwargs)  # type: ignore[arg-type]
    engine.wait_ready(10)
    return engine


def test_each_caller_on_each_loop_gets_its_own_answer() -> None:
    # The host-only runner answers each turn's length over 8 s: a mixed-up delivery shows.
    engine = _engine(HostOnlyRunner(64), max_batch=64, max_wait_ms=5)
    lengths = {loop: [1600 * (1 + (i + 7 * loop) % 80) for i in range(200)] for loop in range(3)}
    answers: dict[int, list[float]] = {}

    def loop_thread(loop: int) -> None:
        async def ask_all() -> list[float]:
            return list(
                await asyncio.gather(*(engine.submit(_segment(n), 16000) for n in lengths[loop]))
            )

        answers[loop] = asyncio.run(ask_all())

    threads = [threading.Thread(target=loop_thread, args=(loop,)) for loop in lengths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    engine.close()
    for loop, wanted in lengths.items():
        assert answers[loop] == pytest.approx([n / CLIP_SAMPLES for n in wanted]), loop
    assert engine.clips == 600 and max(engine.batch_sizes) > 1  # batched across loops


def test_turns_longer_than_8_s_and_at_8_khz_are_cut_as_pipecat_cuts_them() -> None:
    engine = _engine(HostOnlyRunner(8), max_batch=8)
    long_16k = engine.submit_nowait(_segment(20 * 16000), 16000).result(10)
    short_window = engine.submit_nowait(_segment(5 * 16000), 16000, max_seconds=2).result(10)
    at_8k = engine.submit_nowait(_segment(2 * 8000), 8000).result(10)
    engine.close()
    assert long_16k == 1.0
    assert short_window == pytest.approx(2 * 16000 / CLIP_SAMPLES)
    assert at_8k == pytest.approx(2 * 16000 / CLIP_SAMPLES, abs=1e-3)  # resampled to 16 kHz


class _HeldRunner:
    """Launches return at once; results wait until the test releases them, so the test can
    see whether the engine gathers and launches the next batch meanwhile."""

    device = "host"

    def __init__(self) -> None:
        self.launched: list[int] = []
        self.release = threading.Event()

    def score(self, clips: np.ndarray) -> np.ndarray:
        return np.zeros(len(clips), np.float32)

    def launch(self, segments: list[np.ndarray]) -> "Done | _HeldRunner.Held":
        if not any(segment.any() for segment in segments):  # the warm-up's silent turn
            return Done(np.zeros(len(segments), np.float32))
        self.launched.append(len(segments))
        return self.Held(self.release, len(segments))

    class Held:
        def __init__(self, release: threading.Event, size: int) -> None:
            self.release, self.size = release, size

        def result(self) -> np.ndarray:
            assert self.release.wait(10)
            return np.full(self.size, 0.5, np.float32)


def test_the_next_batch_is_launched_while_the_previous_one_runs() -> None:
    runner = _HeldRunner()
    engine = _engine(runner, max_batch=4, max_wait_ms=1)
    waiting = [engine.submit_nowait(_segment(1600), 16000) for _ in range(8)]
    pause = threading.Event()
    for _ in range(500):
        if len(runner.launched) == 2 or pause.wait(0.01):
            break
    assert runner.launched == [4, 4]  # batch 2 launched before batch 1's result was read
    assert not any(f.done() for f in waiting)
    runner.release.set()
    assert [f.result(10) for f in waiting] == [0.5] * 8
    engine.close()


class _BrokenRunner:
    device = "cuda"

    def score(self, clips: np.ndarray) -> np.ndarray:
        raise RuntimeError("libnvvm.so not found")

    def launch(self, segments: list[np.ndarray]) -> Done:
        raise RuntimeError("libnvvm.so not found")


def test_a_failed_warm_up_makes_wait_ready_raise_with_the_cause() -> None:
    engine = BatchingTurnEngine(_BrokenRunner())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="warm-up failed on cuda: libnvvm.so not found"):
        engine.wait_ready(10)
    with pytest.raises(RuntimeError, match="libnvvm"):  # and each request gets the error
        engine.submit_nowait(_segment(1600), 16000).result(10)
    engine.close()


@pytest.mark.parametrize("mode", ["closed", "open"])
def test_load_counts_completed_turns_in_the_window(mode: str) -> None:
    engine = _engine(HostOnlyRunner(64), max_batch=64)
    load = run_load(
        engine,
        mixed_segments(16),
        concurrency=64 if mode == "closed" else 0,
        rate=500.0 if mode == "open" else 0.0,
        loops=2,
        seconds=1.0,
        warm_up_s=0.2,
    )
    engine.close()
    assert load.refused == load.expired == load.errors == 0
    assert len(load.latencies) > 100
    assert min(load.latencies) > 0 and max(load.latencies) < 1.0
    if mode == "open":  # Poisson arrivals at 500/s over 1 s
        assert 350 < len(load.latencies) < 650


def test_bench_turn_engine_writes_its_figures(tmp_path) -> None:
    out = tmp_path / "engine.json"
    command = [sys.executable, "-m", "pipeline.cli", "bench", "turn-engine", "--runner",
               "host-only", "--concurrency", "16,64", "--seconds", "0.5", "--warm-up", "0.2",
               "--json", str(out)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert [level["offered"] for level in result["levels"]] == [16, 64]
    for level in result["levels"]:
        assert level["clips_per_s"] > 0 and level["p50_ms"] <= level["p99_ms"]
        assert sum(level["batch_sizes"].values()) > 0 and level["host_us_per_clip"] > 0
        assert level["refused"] == level["expired"] == level["errors"] == 0
    assert result["provenance"]["runner"]["runner"] == "host-only"
    assert "turn engine: host-only" in done.stdout
