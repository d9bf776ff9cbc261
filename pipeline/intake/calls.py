"""One way in for every call: the orders, the calls in progress, draining, refusal.

In: the settings (agent.orders_file: loaded once per process), then each call's Pipecat
transport from a carrier adapter (websocket.py, sip.py, audiosocket.py, webrtc.py). Out: the
agent's pipeline (pipeline/agent/call.py) run on that transport until the call ends, its start,
end and the tools it called logged, and the tools returned (they record what the LLM called,
so a carrier can tell a transfer from a hang-up). `calls` is the one count of calls in
progress over every carrier: switchboard_agent_active_calls, the drain
(pipeline/serve/drain.py), /healthz and /readyz read it. `draining` (set by the drain) makes
adapters refuse new calls; each refusal is logged and counted in
switchboard_agent_calls_total{outcome="refused"}.
"""

import asyncio
import logging
from typing import Literal

from pipecat.transports.base_transport import BaseTransport

from pipeline.agent.call import build_call, run_call
from pipeline.agent.metrics import ACTIVE_CALLS, CALLS
from pipeline.agent.tools import CallCenterTools, load_orders
from pipeline.settings import Settings

log = logging.getLogger(__name__)

NotStarted = Literal["refused", "failed"]  # how a call ended before the agent took it


def count_not_started(outcome: NotStarted) -> None:
    """Count a call that ended before the agent took it (the carrier has logged why) in
    switchboard_agent_calls_total."""
    CALLS.labels(outcome).inc()


class CallIntake:
    """Takes the calls of one agent process, from every carrier (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.orders = load_orders(settings.agent.orders_file)
        self.calls = 0  # in progress, over every carrier
        self.draining = False  # set once the drain starts: new calls are refused
        ACTIVE_CALLS.set_function(lambda: self.calls)

    def refuse(self, reason: str, carrier: str, level: int = logging.WARNING) -> None:
        """Log why a call is turned away before it starts, and count it as refused."""
        log.log(level, "refused a call: %s (%s)", reason, carrier)
        count_not_started("refused")

    async def run_agent_call(self, transport: BaseTransport, call_id: str) -> CallCenterTools:
        """Run the agent on `transport` until the call ends (the carrier disconnecting cancels
        it); returns the call's tools. An error in the call is logged (run_call counts it as
        failed) and goes no further; cancelling the caller's task cancels the call."""
        worker, tools = build_call(transport, self.settings, self.orders, call_id=call_id)

        @transport.event_handler("on_client_disconnected")
        async def _hung_up(_transport: object, _client: object) -> None:
            log.info("call %s: caller hung up", call_id)
            await worker.cancel()

        self.calls += 1
        log.info("call %s: started", call_id)
        outcome = "failed"
        try:
            outcome = await run_call(worker, call_id)
        except asyncio.CancelledError:
            await worker.cancel()  # the process is shutting down
            raise
        except Exception:
            log.exception("call %s: failed", call_id)
        finally:
            self.calls -= 1
        log.info("call %s: ended (%s); tools called: %s", call_id, outcome, tools.calls)
        return tools
