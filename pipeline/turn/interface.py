"""What every turn engine offers: the in-process engine, the Triton client, the failover pair.

An engine implements `submit_nowait` (from any thread: a concurrent Future of the
probability, bad audio raising at once), `wait_ready` and `close`; `submit` is the awaitable
form every call's event loop uses.
"""

import asyncio
from abc import ABC, abstractmethod
from concurrent.futures import Future

import numpy as np

from models.clip import CLIP_SECONDS


class TurnEngine(ABC):
    name: str

    async def submit(
        self, audio: np.ndarray, sample_rate: int, max_seconds: float = CLIP_SECONDS
    ) -> float:
        """Probability that `audio` (int16 or float, mono) ends a complete turn."""
        return await asyncio.wrap_future(self.submit_nowait(audio, sample_rate, max_seconds))

    @abstractmethod
    def submit_nowait(
        self, audio: np.ndarray, sample_rate: int, max_seconds: float = CLIP_SECONDS
    ) -> Future:
        """Thread-side form of `submit`: a concurrent Future of the probability."""

    @abstractmethod
    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the engine can answer (or `timeout` seconds pass)."""

    @abstractmethod
    def close(self) -> None:
        """Release the engine's threads and connections."""
