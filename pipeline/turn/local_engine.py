"""The local turn engine: Smart Turn scored in batches inside this process, for every call.

`await engine.submit(audio, sample_rate)` → probability that the turn is complete. Safe from
any thread and any event loop. Requests wait in a bounded queue; a worker thread takes whatever
is waiting (up to `max_batch`, waiting at most `max_wait_ms` for more), cuts each turn to its
16 kHz segment (models.clip.turn_segment) and hands the batch to the runner's `launch`. While a
GPU runner works on that batch the worker already gathers and launches the next, then hands the
first batch's answers back: one wake-up per caller event loop per batch (delivery.py). On a CPU,
`workers` > 1 runs that many such workers over the same runner (one model copy; ONNX Runtime
sessions are thread-safe), each with a share of the cores. A full queue fails at once with
`TurnEngineOverloaded`; requests whose caller gave up (cancelled, or older than `deadline_ms`)
are dropped without being scored. A warm-up that fails makes `wait_ready` raise with its cause.
"""

import asyncio
import logging
import queue
import threading
import time
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from models.clip import (
    CLIP_SAMPLES,
    CLIP_SECONDS,
    MODEL_SAMPLE_RATE,
    check_turn_audio,
    turn_segment,
)
from models.packed_batch import Pending
from models.runner import SmartTurnRunner, warm_up
from pipeline.turn.delivery import Answer, Waiter, deliver
from pipeline.turn.interface import TurnEngine
from pipeline.turn.metrics import TURN_BATCH_SIZE, TURN_LATENCY, TURN_QUEUE_DEPTH, TURN_REQUESTS

log = logging.getLogger(__name__)


class TurnEngineOverloaded(RuntimeError):
    """The engine's queue is full: decide this turn without the model."""


@dataclass
class _Request:
    audio: np.ndarray
    sample_rate: int
    max_seconds: float
    waiter: Waiter
    enqueued: float = field(default_factory=time.monotonic)


@dataclass
class _Launched:
    batch: list[_Request]
    pending: Pending


def _segment(request: _Request) -> np.ndarray:
    """The request's 16 kHz segment; 16 kHz int16 audio (the agent's) is sliced, not copied."""
    audio = request.audio
    if request.sample_rate == MODEL_SAMPLE_RATE and audio.dtype == np.int16:
        keep = min(int(request.max_seconds * MODEL_SAMPLE_RATE), CLIP_SAMPLES)
        return audio[-keep:] if len(audio) > keep else audio
    return turn_segment(audio, request.sample_rate, request.max_seconds)


class BatchingTurnEngine(TurnEngine):
    def __init__(
        self,
        runner: SmartTurnRunner,
        *,
        max_batch: int = 32,
        max_wait_ms: float = 2.0,
        queue_size: int = 1024,
        deadline_ms: float = 1500.0,
        workers: int = 1,
    ) -> None:
        self.runner = runner
        self.name = f"local-{runner.device}"
        self.max_batch = max_batch
        self._max_wait = max_wait_ms / 1000
        self._deadline = deadline_ms / 1000
        self._queue_size = queue_size
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self.batches = 0  # model calls made, for benchmarks and logs
        self.clips = 0
        self.batch_sizes: Counter[int] = Counter()  # clips per model call → calls
        self.worker_cpu_s = 0.0  # CPU time of the workers' threads, warm-up excluded
        self._count_lock = threading.Lock()
        self.ready = threading.Event()  # set once the warm-up batch has run (or failed)
        self.warm_up_error: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._work, args=(i,), name=f"smart-turn-{self.name}-{i}")
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.daemon = True
            thread.start()

    async def submit(
        self, audio: np.ndarray, sample_rate: int, max_seconds: float = CLIP_SECONDS
    ) -> float:
        """Probability that `audio` ends a complete turn, answered on this event loop."""
        waiter = asyncio.get_running_loop().create_future()
        self._enqueue(_Request(audio, sample_rate, max_seconds, waiter))
        return await waiter

    def submit_nowait(
        self, audio: np.ndarray, sample_rate: int, max_seconds: float = CLIP_SECONDS
    ) -> Future:
        """Thread-side form of `submit`: returns a concurrent Future of the probability."""
        waiter: Future = Future()
        self._enqueue(_Request(audio, sample_rate, max_seconds, waiter))
        return waiter

    def _enqueue(self, request: _Request) -> None:
        """Queue a request; bad audio raises here (models.clip.check_turn_audio), a full queue
        raises TurnEngineOverloaded."""
        check_turn_audio(request.audio, request.sample_rate)
        waiting = self._queue.qsize()
        if waiting >= self._queue_size:
            TURN_REQUESTS.labels(self.name, "overloaded").inc()
            raise TurnEngineOverloaded(f"turn engine queue is full ({waiting} waiting)")
        self._queue.put(request)

    def close(self) -> None:
        """Stop the workers after the requests already queued."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=30)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the model is loaded and compiled (or `timeout` seconds pass); raises
        RuntimeError naming the cause when the warm-up failed."""
        ready = self.ready.wait(timeout)
        if self.warm_up_error is not None:
            raise RuntimeError(
                f"turn engine warm-up failed on {self.runner.device}: {self.warm_up_error}"
            ) from self.warm_up_error
        return ready

    def _work(self, index: int) -> None:
        if index == 0:  # warm up once (JIT compilation, lazy allocations) before any request
            try:
                warm_up(self.runner)
            except Exception as exc:  # requests will fail the same way, each with its error
                log.exception("turn engine warm-up failed on %s", self.runner.device)
                self.warm_up_error = exc
            self.ready.set()
        self.ready.wait()
        cpu_start = time.thread_time()
        running: _Launched | None = None
        while True:
            batch = self._next_batch(block=running is None)
            if batch is None and running is None:
                break
            launched = self._launch(batch) if batch else None
            if running is not None:  # the previous batch ran while this one was gathered
                self._finish(running)
            running = launched
            if batch is None:  # close() while a batch was running: finish it, then stop
                break
        with self._count_lock:
            self.worker_cpu_s += time.thread_time() - cpu_start

    def _next_batch(self, block: bool) -> list[_Request] | None:
        """Up to max_batch live requests; [] when none is waiting and `block` is False; None
        once close() has been called."""
        try:
            first = self._queue.get(block=block)
        except queue.Empty:
            return []
        if first is None:
            return None
        batch = [first]
        until = time.monotonic() + self._max_wait
        while len(batch) < self.max_batch:
            try:
                item = self._queue.get(timeout=max(0.0, until - time.monotonic()))
            except queue.Empty:
                break
            if item is None:  # close(): finish this batch, then stop
                self._queue.put(None)
                break
            batch.append(item)
        TURN_QUEUE_DEPTH.labels(self.name).set(self._queue.qsize())
        return [request for request in batch if self._still_wanted(request)]

    def _still_wanted(self, request: _Request) -> bool:
        waiter = request.waiter
        if isinstance(waiter, Future) and not waiter.set_running_or_notify_cancel():
            return False  # the caller cancelled
        if isinstance(waiter, asyncio.Future) and waiter.cancelled():
            return False  # (read from this thread: at worst it is dropped at delivery)
        if time.monotonic() - request.enqueued > self._deadline:
            TURN_REQUESTS.labels(self.name, "expired").inc()
            deliver([(waiter, TimeoutError("turn request waited past its deadline"))])
            return False
        return True

    def _launch(self, batch: list[_Request]) -> _Launched | None:
        try:
            segments = [_segment(r) for r in batch]
            return _Launched(batch, self.runner.launch(segments))
        except Exception as exc:  # one bad batch must not stop the worker
            self._fail(batch, exc)
            return None

    def _finish(self, launched: _Launched) -> None:
        batch = launched.batch
        try:
            probabilities = launched.pending.result()
        except Exception as exc:
            self._fail(batch, exc)
            return
        with self._count_lock:
            self.batches += 1
            self.clips += len(batch)
            self.batch_sizes[len(batch)] += 1
        TURN_BATCH_SIZE.labels(self.name).observe(len(batch))
        TURN_REQUESTS.labels(self.name, "scored").inc(len(batch))
        now = time.monotonic()
        latency = TURN_LATENCY.labels(self.name)
        answers: list[Answer] = []
        for request, probability in zip(batch, probabilities.tolist(), strict=True):
            latency.observe(now - request.enqueued)
            answers.append((request.waiter, probability))
        deliver(answers)

    def _fail(self, batch: list[_Request], exc: Exception) -> None:
        log.error("turn engine failed on a batch of %d: %s", len(batch), exc, exc_info=exc)
        TURN_REQUESTS.labels(self.name, "error").inc(len(batch))
        deliver([(request.waiter, exc) for request in batch])
