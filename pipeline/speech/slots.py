"""Admission control: at most `limit` engine calls of one kind at once, refused beyond that.

The server keeps one pool per kind (ASR streams, TTS syntheses), so calls that hold an ASR
stream for their whole length never leave the bot without a voice. A call that cannot get a
slot ends with RESOURCE_EXHAUSTED immediately, naming the setting that sizes its pool, so a
saturated server tells its clients instead of silently falling behind real time. A slot is
given back when its call ends for any reason: done, failed, cancelled by the client, or its
connection dropped (then at once, through gRPC's termination callback, even if the handler
is still finishing a decode).
"""

import contextlib
import threading
from collections.abc import Iterator

import grpc

from pipeline.speech.errors import exhausted


class StreamSlots:
    """`limit` places for calls of one kind; `setting` names what sizes it (for errors)."""

    def __init__(self, limit: int, kind: str, setting: str) -> None:
        self.limit = limit
        self.kind = kind
        self.setting = setting
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
                    f"{rpc}: all {self.limit} {self.kind} are busy (settings.{self.setting}); "
                    "retry later or add servers"
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
