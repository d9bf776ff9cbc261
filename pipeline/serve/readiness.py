"""Whether the agent's endpoints answer, as /readyz asks it: checked at most once a while.

In: settings, and probes (Kubernetes' readiness probe, load balancers) at any rate. Out: None
when ASR, TTS and the LLM answered the last check, else what did not (EndpointError's
message, pipeline/agent/endpoints.py). A check opens a gRPC channel per speech endpoint and
an HTTP request to the LLM, so its answer is kept for CACHE_S; probes that arrive while a
check runs wait for that one check instead of starting their own, and a probe that gives up
(its client left) does not cancel it.
"""

import asyncio
import time

from pipeline.agent.endpoints import EndpointError, check_endpoints
from pipeline.settings import Settings

CACHE_S = 5.0  # how long one check's answer stands for every probe


class EndpointReadiness:
    """The endpoints' last check, shared by every probe (see the module docstring)."""

    def __init__(self, settings: Settings, cache_s: float = CACHE_S) -> None:
        self.settings = settings
        self.cache_s = cache_s
        self._answer: str | None = None
        self._checked_at = -float("inf")
        self._check: asyncio.Task[str | None] | None = None

    async def problem(self) -> str | None:
        """None when the endpoints answered within the last `cache_s`, else what did not."""
        if time.monotonic() - self._checked_at < self.cache_s:
            return self._answer
        if self._check is None:
            self._check = asyncio.create_task(self._run_check())
        return await asyncio.shield(self._check)

    async def _run_check(self) -> str | None:
        try:
            await asyncio.to_thread(check_endpoints, self.settings)
            self._answer = None
        except EndpointError as exc:
            self._answer = str(exc)
        finally:
            self._check = None
        self._checked_at = time.monotonic()
        return self._answer
