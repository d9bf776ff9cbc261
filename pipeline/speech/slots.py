"""Admission control: at most `limit` engine calls at once, refused at once beyond that.

A call that cannot get a slot ends with RESOURCE_EXHAUSTED immediately, so a saturated
server tells its clients instead of silently falling behind real time. A slot is given back
when its call ends for any reason: done, failed, or cancelled by the client (then at once,
through gRPC's termination callback, even if the handler is still finishing a decode).
"""

import contextlib
import threading
from collections.abc import Iterator

import grpc

from pipeline.speech.errors import exhausted


class StreamSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._in_use = 0
        self._lock = threading.Lock()

    @property
    def in_use(self) -> int:
        return self._in_use

    @contextlib.contextmanager
    def hold(self, rpc: str, context: grpc.ServicerContext | None = None) -> Iterator[None]:
        """Take a slot until the block ends or the call terminates, or raise RESOURCE_EXHAUSTED."""
        with self._lock:
            if self._in_use >= self.limit:
                raise exhausted(
                    f"{rpc}: all {self.limit} speech streams are busy "
                    "(settings.speech_server.max_streams); retry later or add servers"
                )
            self._in_use += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if not released:
                    released = True
                    self._in_use -= 1

        if context is not None:
            context.add_callback(release)
        try:
            yield
        finally:
            release()
