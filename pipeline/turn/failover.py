"""Triton first, the in-process CPU engine when Triton fails: the agent's turn engine for
`turn.engine: triton`.

`await engine.submit(audio, sample_rate)` → probability, within `deadline_ms` or TimeoutError.
Each turn goes to Triton (pipeline.turn.triton_engine) with its own short timeout. If Triton
is unreachable, too slow or answers an error, the failure is counted
(`switchboard_turn_triton_failovers_total{reason}`) and the same turn is scored by the
in-process engine with what is left of the deadline; with no backup engine
(`turn.triton_failover: fallback`) the error goes up and the analyzer uses its own fallback
(Pipecat's silence timeout, or "complete").

A circuit breaker spares the calls the wait: after `failure_threshold` failures in a row it
opens and turns go straight to the backup. While open, Triton's readiness is probed every
`probe_interval_s`; on a "ready" the circuit is half-open and a trial request (the latest
turn's clip, sent by the probe, not on a caller's time) goes to Triton. Only an answer to the
trial closes the circuit, so traffic returns by itself; a failed trial opens it again and
probing goes on.
"""

import asyncio
import logging
from concurrent.futures import Future

import numpy as np

from models.clip import CLIP_SECONDS, MODEL_SAMPLE_RATE
from pipeline.turn.interface import TurnEngine
from pipeline.turn.local_engine import BatchingTurnEngine
from pipeline.turn.metrics import TRITON_CIRCUIT_OPEN, TRITON_FAILOVERS
from pipeline.turn.triton_engine import TritonTurnEngine, TritonUnreachable, triton_segment

log = logging.getLogger(__name__)


class CircuitBreaker:
    """closed → (`threshold` failures in a row) → open → (Triton ready) → half_open →
    (the trial answered) → closed, or (the trial failed) → open."""

    def __init__(self, threshold: int = 3) -> None:
        self.threshold = threshold
        self.failures = 0
        self.state = "closed"

    @property
    def is_open(self) -> bool:
        """True while turns bypass Triton (open, or half-open while a trial runs)."""
        return self.state != "closed"

    def succeeded(self) -> None:
        self.failures = 0

    def failed(self) -> bool:
        """Record a failure; True when this one opened the circuit."""
        self.failures += 1
        return self.failures >= self.threshold and self.trip()

    def trip(self) -> bool:
        """Open a closed circuit; True when it was closed."""
        if self.state != "closed":
            return False
        self.state = "open"
        TRITON_CIRCUIT_OPEN.set(1)
        return True

    def half_open(self) -> None:
        self.state = "half_open"

    def reopen(self) -> None:
        self.state = "open"

    def close(self) -> None:
        self.failures = 0
        self.state = "closed"
        TRITON_CIRCUIT_OPEN.set(0)


class FailoverTurnEngine(TurnEngine):
    def __init__(
        self,
        primary: TritonTurnEngine,
        backup: BatchingTurnEngine | None,
        *,
        deadline_ms: float = 1500.0,
        failure_threshold: int = 3,
        probe_interval_s: float = 2.0,
    ) -> None:
        self.primary = primary
        self.backup = backup
        self.name = "triton+local" if backup else "triton"
        self.breaker = CircuitBreaker(failure_threshold)
        self._deadline = deadline_ms / 1000
        self._probe_interval = probe_interval_s
        self._probe: asyncio.Task | None = None
        self._trial_clip = np.zeros(MODEL_SAMPLE_RATE, dtype=np.int16)  # until a turn comes

    def submit_nowait(
        self, audio: np.ndarray, sample_rate: int, max_seconds: float = CLIP_SECONDS
    ) -> Future:
        """Thread-side form of `submit`; bad audio raises here (ValueError, TypeError)."""
        clip = triton_segment(audio, sample_rate, max_seconds)
        return self.primary.run(self._decide(clip, audio, sample_rate, max_seconds))

    async def _decide(
        self, clip: np.ndarray, audio: np.ndarray, sample_rate: int, max_seconds: float
    ) -> float:
        """Runs on the primary's loop: Triton, else the backup; TimeoutError at the deadline."""
        self._trial_clip = clip  # what the next trial sends, should the circuit open
        async with asyncio.timeout(self._deadline):  # no turn waits longer than this
            if not self.breaker.is_open:
                try:
                    probability = await self.primary.infer(clip)
                except Exception as exc:  # unreachable, too slow, or an error answer
                    return await self._fail_over(_reason(exc), exc, audio, sample_rate, max_seconds)
                self.breaker.succeeded()
                return probability
            return await self._fail_over("circuit_open", None, audio, sample_rate, max_seconds)

    async def _fail_over(
        self,
        reason: str,
        error: Exception | None,
        audio: np.ndarray,
        sample_rate: int,
        max_seconds: float,
    ) -> float:
        """Count the failover and let the backup decide (or raise when there is none)."""
        TRITON_FAILOVERS.labels(reason).inc()
        if error is not None and self.breaker.failed():
            log.warning("Triton failing (%s): turns bypass it until it is ready", error)
            self._start_probe()
        if self.backup is None:
            raise error or TritonUnreachable(f"Triton at {self.primary.url} is not ready")
        future = self.backup.submit_nowait(audio, sample_rate, max_seconds)
        return await asyncio.wrap_future(future)

    async def _probe_until_closed(self) -> None:
        """While the circuit is open: probe readiness, and on a yes send a trial request;
        its answer closes the circuit. Nothing that goes wrong here ends the probing."""
        while self.breaker.is_open:
            await asyncio.sleep(self._probe_interval)
            try:
                await self._probe_once()
            except Exception:
                log.exception("probing Triton at %s failed; probing goes on", self.primary.url)

    async def _probe_once(self) -> None:
        if not await self.primary.is_ready(timeout_s=self._probe_interval):
            return
        self.breaker.half_open()
        try:
            await self.primary.infer(self._trial_clip)
        except Exception as exc:
            self.breaker.reopen()
            log.warning("Triton says ready but failed a trial request (%s): still bypassed", exc)
            return
        url = self.primary.url
        log.info("Triton at %s is ready again (a trial answered): turns go back to it", url)
        self.breaker.close()

    def _start_probe(self) -> None:
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(self._probe_until_closed())

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until turns can be decided (or `timeout` seconds pass). With a backup that
        is once the backup is warm: if Triton is not ready then, the circuit opens and the
        backup serves until Triton is ready and answers a trial request."""
        if self.backup is None:
            return self.primary.wait_ready(timeout)
        if not self.backup.wait_ready(timeout):
            return False
        self.primary.run(self._check_ready()).result()
        return True

    async def _check_ready(self) -> None:
        if not await self.primary.is_ready() and self.breaker.trip():
            log.warning("Triton at %s is not ready: turns use the backup", self.primary.url)
            self._start_probe()

    async def _stop_probe(self) -> None:
        if self._probe is not None:
            self._probe.cancel()

    def close(self) -> None:
        """Stop probing, close the channel, stop the backup's worker."""
        if not self.primary.loop.is_closed():
            self.primary.run(self._stop_probe()).result(timeout=5)
        self.primary.close()
        if self.backup is not None:
            self.backup.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "unreachable" if isinstance(exc, TritonUnreachable) else "error"
