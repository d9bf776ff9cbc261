"""The local turn engine: Smart Turn scored in batches inside this process, for every call.

`await engine.submit(audio, sample_rate)` → probability that the turn is complete. Safe from
any thread and any event loop. Requests wait in a bounded queue; one worker thread takes
whatever is waiting (up to `max_batch`, waiting at most `max_wait_ms` for more), prepares the
clips, and scores them in one call to the runner. On a CPU, `workers` > 1 runs that many such
workers over the same runner (one model copy; ONNX Runtime sessions are thread-safe), each with
a share of the cores. A full queue fails at once with
`TurnEngineOverloaded`; requests whose caller gave up (cancelled, or older than `deadline_ms`)
are dropped without being scored.
"""

import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from models.clip import CLIP_SECONDS, check_turn_audio, prepare_clip
from models.runner import SmartTurnRunner, warm_up
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
    future: Future = field(default_factory=Future)
    enqueued: float = field(default_factory=time.monotonic)


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
        self._queue: queue.Queue[_Request | None] = queue.Queue(maxsize=queue_size)
        self.batches = 0  # model calls made, for benchmarks and logs
        self.clips = 0
        self._count_lock = threading.Lock()
        self.ready = threading.Event()  # set once the warm-up batch has run
        self._threads = [
            threading.Thread(target=self._work, args=(i,), name=f"smart-turn-{self.name}-{i}")
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.daemon = True
            thread.start()

    def submit_nowait(
        self, audio: np.ndarray, sample_rate: int, max_seconds: float = CLIP_SECONDS
    ) -> Future:
        """Thread-side form of `submit`: returns a concurrent Future of the probability; bad
        audio raises here (models.clip.check_turn_audio)."""
        check_turn_audio(audio, sample_rate)
        request = _Request(audio, sample_rate, max_seconds)
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            TURN_REQUESTS.labels(self.name, "overloaded").inc()
            raise TurnEngineOverloaded(
                f"turn engine queue is full ({self._queue.maxsize} waiting)"
            ) from None
        TURN_QUEUE_DEPTH.labels(self.name).set(self._queue.qsize())
        return request.future

    def close(self) -> None:
        """Stop the worker after the requests already queued."""
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=30)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the model is loaded and compiled (or `timeout` seconds pass)."""
        return self.ready.wait(timeout)

    def _work(self, index: int) -> None:
        if index == 0:  # warm up once (JIT compilation, lazy allocations) before any request
            try:
                warm_up(self.runner)
            except Exception:  # requests will fail the same way, each with its own error
                log.exception("turn engine warm-up failed on %s", self.runner.device)
            self.ready.set()
        self.ready.wait()
        while (batch := self._next_batch()) is not None:
            live = [r for r in batch if self._still_wanted(r)]
            if live:
                self._score(live)

    def _next_batch(self) -> list[_Request] | None:
        first = self._queue.get()
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
        return batch

    def _still_wanted(self, request: _Request) -> bool:
        if not request.future.set_running_or_notify_cancel():
            return False  # the caller cancelled (its own deadline passed)
        if time.monotonic() - request.enqueued > self._deadline:
            TURN_REQUESTS.labels(self.name, "expired").inc()
            request.future.set_exception(TimeoutError("turn request waited past its deadline"))
            return False
        return True

    def _score(self, batch: list[_Request]) -> None:
        try:
            clips = [prepare_clip(r.audio, r.sample_rate, r.max_seconds) for r in batch]
            probabilities = self.runner.score(np.stack(clips))
        except Exception as exc:  # one bad batch must not stop the worker
            log.exception("turn engine failed on a batch of %d", len(batch))
            TURN_REQUESTS.labels(self.name, "error").inc(len(batch))
            for request in batch:
                request.future.set_exception(exc)
            return
        with self._count_lock:
            self.batches += 1
            self.clips += len(batch)
        TURN_BATCH_SIZE.labels(self.name).observe(len(batch))
        TURN_REQUESTS.labels(self.name, "scored").inc(len(batch))
        now = time.monotonic()
        for request, probability in zip(batch, probabilities, strict=True):
            TURN_LATENCY.labels(self.name).observe(now - request.enqueued)
            request.future.set_result(float(probability))
