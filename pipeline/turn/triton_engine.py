"""The Triton turn engine: turn questions answered by a remote `smart_turn` model on Triton.

`await engine.submit(audio, sample_rate)` → probability, like the in-process engine. The turn's
segment is cut here (models.clip.turn_segment, then int16: models.triton_contract) and sent as
one request of its own length, not padded to 8 s; Triton batches the requests of every agent.
One gRPC channel per engine (tritonclient's asyncio client), driven by the engine's own
event-loop thread, so any thread and any event loop may submit. A request that fails raises:
- TritonUnreachable: nothing answers at the URL (server down, restarting, wrong address);
- TimeoutError: no answer within `timeout_ms`;
- TritonTurnError: Triton answered with an error.
Failover to the in-process engine is not done here (pipeline.turn.failover does it).
"""

import asyncio
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

import numpy as np
import tritonclient.grpc.aio as triton_grpc
from tritonclient.utils import InferenceServerException

from models import triton_contract as contract
from models.clip import CLIP_SECONDS, turn_segment
from pipeline.turn.interface import TurnEngine
from pipeline.turn.metrics import TURN_LATENCY, TURN_REQUESTS

T = TypeVar("T")
MAX_MESSAGE_BYTES = 2**31 - 1


class TritonTurnError(RuntimeError):
    """Triton answered a turn request with an error."""


class TritonUnreachable(TritonTurnError):
    """Nothing answers at the Triton URL."""


def channel_args(reconnect_ms: int) -> list[tuple[str, int]]:
    """gRPC channel options: reconnect to a restarted server within `reconnect_ms` (gRPC's
    default backoff grows to two minutes, which would keep traffic away that long)."""
    return [
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.initial_reconnect_backoff_ms", min(reconnect_ms, 250)),
        ("grpc.min_reconnect_backoff_ms", min(reconnect_ms, 250)),
        ("grpc.max_reconnect_backoff_ms", reconnect_ms),
    ]


class TritonTurnEngine(TurnEngine):
    def __init__(self, url: str, *, timeout_ms: float = 500.0, reconnect_ms: int = 2000) -> None:
        self.name = "triton"
        self.url = url
        self.timeout_ms = timeout_ms
        self.sent_requests = 0  # requests sent, and the bytes of audio they carried
        self.sent_audio_bytes = 0
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="triton-turn-client", daemon=True
        )
        self._thread.start()
        self._client = self.run(self._connect(reconnect_ms)).result()

    async def _connect(self, reconnect_ms: int) -> triton_grpc.InferenceServerClient:
        return triton_grpc.InferenceServerClient(self.url, channel_args=channel_args(reconnect_ms))

    def run(self, coroutine: Coroutine[Any, Any, T]) -> "Future[T]":
        """Run a coroutine on the engine's loop, from any thread."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def submit_nowait(
        self, audio: np.ndarray, sample_rate: int, max_seconds: float = CLIP_SECONDS
    ) -> Future:
        """Thread-side form of `submit`; bad audio raises here (ValueError, TypeError)."""
        return self.run(self.infer(triton_segment(audio, sample_rate, max_seconds)))

    async def infer(self, samples: np.ndarray) -> float:
        """One turn's int16 samples [L] → probability; runs on the engine's loop."""
        started = time.monotonic()
        request = triton_grpc.InferInput(
            contract.INPUT_NAME, [1, len(samples)], contract.INPUT_DTYPE
        )
        request.set_data_from_numpy(samples[np.newaxis])
        self.sent_requests += 1
        self.sent_audio_bytes += samples.nbytes
        try:
            result = await self._client.infer(
                contract.MODEL_NAME,
                [request],
                outputs=[triton_grpc.InferRequestedOutput(contract.OUTPUT_NAME)],
                client_timeout=self.timeout_ms / 1000,
            )
        except InferenceServerException as exc:
            error = self._translate(exc)
            TURN_REQUESTS.labels(self.name, _outcome(error)).inc()
            raise error from None
        TURN_REQUESTS.labels(self.name, "scored").inc()
        TURN_LATENCY.labels(self.name).observe(time.monotonic() - started)
        return float(result.as_numpy(contract.OUTPUT_NAME).reshape(-1)[0])

    async def is_ready(self, timeout_s: float = 1.0) -> bool:
        """Whether Triton answers and has `smart_turn` loaded; runs on the engine's loop."""
        try:
            return await self._client.is_model_ready(contract.MODEL_NAME, client_timeout=timeout_s)
        except InferenceServerException:
            return False

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until Triton serves `smart_turn` (or `timeout` seconds pass)."""
        until = None if timeout is None else time.monotonic() + timeout
        while not self.run(self.is_ready()).result():
            if until is not None and time.monotonic() >= until:
                return False
            time.sleep(0.2)
        return True

    def close(self) -> None:
        """Close the channel and stop the loop thread; pending requests are cancelled."""
        if self.loop.is_closed():
            return
        try:
            self.run(self._client.close()).result(timeout=5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
            self.loop.close()

    def _translate(self, exc: InferenceServerException) -> Exception:
        status = exc.status() or ""
        if status.endswith("UNAVAILABLE"):
            return TritonUnreachable(f"Triton at {self.url} unreachable: {exc.message()}")
        if status.endswith("DEADLINE_EXCEEDED"):
            return TimeoutError(f"Triton at {self.url} gave no answer in {self.timeout_ms:g} ms")
        return TritonTurnError(f"Triton at {self.url} answered an error: {exc.message()}")


def triton_segment(
    audio: np.ndarray, sample_rate: int, max_seconds: float = CLIP_SECONDS
) -> np.ndarray:
    """Turn audio (int16 or float, any usable rate) → the int16 samples [L <= 128000] a request
    carries (its 16 kHz segment, unpadded); bad audio raises as models.clip.check_turn_audio."""
    return contract.to_int16(turn_segment(audio, sample_rate, max_seconds))


def _outcome(error: Exception) -> str:
    if isinstance(error, TimeoutError):
        return "expired"
    return "unreachable" if isinstance(error, TritonUnreachable) else "error"
