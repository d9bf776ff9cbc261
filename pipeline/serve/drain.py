"""Graceful shutdown of the agent's web server: drain calls on the first SIGTERM or Ctrl-C.

In: uvicorn's config, the process's `CallIntake` (`calls` in progress over every carrier,
`draining`), the drain timeout (agent.drain_timeout_s). Out: a uvicorn Server that, on the
first signal, sets `intake.draining` (the carriers then refuse new calls and /readyz answers
503) and keeps serving until the calls in progress have ended or the timeout has passed; then
it shuts down as uvicorn does (open calls are closed) and re-raises the signal, so `serve`
stops its children. A second signal stops it at once.
"""

import logging
import time
from types import FrameType

import uvicorn

from pipeline.intake.calls import CallIntake

log = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    """uvicorn.Server that drains calls before it stops (see the module docstring)."""

    def __init__(self, config: uvicorn.Config, intake: CallIntake, timeout_s: float) -> None:
        super().__init__(config)
        self.intake = intake
        self.timeout_s = timeout_s
        self._drain_since: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain_since is not None:
            super().handle_exit(sig, frame)  # a second signal: stop now
            return
        self._captured_signals.append(sig)  # re-raised once uvicorn has stopped
        self._drain_since = time.monotonic()
        self.intake.draining = True

    async def on_tick(self, counter: int) -> bool:
        if self._drain_since is not None and not self.should_exit:
            waited = time.monotonic() - self._drain_since
            calls = self.intake.calls
            if counter % 50 == 0 or calls == 0:
                log.info("draining: %d call(s) in progress after %.0f s", calls, waited)
            if calls == 0:
                self.should_exit = True
            elif waited >= self.timeout_s:
                log.warning(
                    "drain timeout (agent.drain_timeout_s = %.0f s): ending %d call(s)",
                    self.timeout_s,
                    calls,
                )
                self.should_exit = True
        return await super().on_tick(counter)
