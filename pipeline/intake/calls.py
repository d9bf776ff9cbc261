"""One way in for every call: the orders, the places held, admission, draining, refusal.

In: the settings (agent.orders_file: loaded once per process), then each call's Pipecat
transport from a carrier adapter (websocket.py, sip.py, audiosocket.py, webrtc.py). Out: the
agent's pipeline (pipeline/agent/call.py) run on that transport until the call ends, its start,
end and the tools it called logged, and the tools returned (they record what the LLM called,
so a carrier can tell a transfer from a hang-up).

The intake is the one `CallGate` (pipeline/telephony/call_gate.py) of the process. Each
adapter asks `admit(host, carrier)` when a call arrives: a peer outside agent.allowed_peers,
a draining agent (`draining`, set by the drain) and agent.max_calls places already held make
it refuse the call in its protocol's own way; each refusal is logged (a stranger once per
address at INFO, then at DEBUG, so a scanner cannot flood the log) and counted in
switchboard_agent_calls_total{outcome="refused"}. An admitted call holds a place
(`place()`, or `take()` and its release) from admission until it ends; `calls`, the places
held over every carrier, is what switchboard_agent_active_calls, the drain
(pipeline/serve/drain.py), /healthz and /readyz read.
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from pipecat.transports.base_transport import BaseTransport

from pipeline.agent.call import build_call, run_call
from pipeline.agent.metrics import ACTIVE_CALLS, CALLS
from pipeline.agent.tools import CallCenterTools, load_orders
from pipeline.settings import Settings
from pipeline.telephony.call_gate import REMEMBERED_HOSTS, LocalCallGate, Refusal, Release

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
        self.draining = False  # set once the drain starts: new calls are refused
        agent = settings.agent
        self._gate = LocalCallGate(
            agent.allowed_peers, agent.max_calls, accepting=lambda: not self.draining
        )
        self._strangers: OrderedDict[str, None] = OrderedDict()  # refused peers, logged once
        ACTIVE_CALLS.set_function(lambda: self.calls)

    @property
    def calls(self) -> int:
        """Places held: calls in progress over every carrier."""
        return self._gate.held

    def allows(self, host: str) -> bool:
        """Whether `host` is inside agent.allowed_peers."""
        return self._gate.allows(host)

    def refusal(self, host: str) -> Refusal | None:
        """None when a call from `host` may start now, else why not ("peer", "draining",
        "busy")."""
        return self._gate.refusal(host)

    def take(self) -> Release:
        """Hold a place for an admitted call; the returned function gives it back."""
        return self._gate.take()

    @contextmanager
    def place(self) -> Iterator[None]:
        """Hold a place (`take()`) for the length of the with-block."""
        release = self.take()
        try:
            yield
        finally:
            release()

    def admit(self, host: str, carrier: str) -> Refusal | None:
        """None when a call from `host` may start now (the caller then holds a place at once,
        before it awaits anything); else the refusal, logged and counted."""
        refusal = self.refusal(host)
        if refusal is not None:
            self.turn_away(refusal, host, carrier)
        return refusal

    def turn_away(self, refusal: str, host: str, carrier: str) -> None:
        """Log and count a call from `host` refused for `refusal` ("peer", "draining", "busy",
        or a carrier's own reason such as "token")."""
        if refusal == "peer":
            first = self._first_refusal(host)
            reason = f"{host} is outside agent.allowed_peers"
            self.refuse(reason, carrier, level=logging.INFO if first else logging.DEBUG)
        elif refusal == "busy":
            reason = f"agent.max_calls ({self.settings.agent.max_calls}) calls in progress"
            self.refuse(reason, carrier)
        else:
            self.refuse(refusal, carrier, level=logging.INFO)

    def refuse(self, reason: str, carrier: str, level: int = logging.WARNING) -> None:
        """Log why a call is turned away before it starts, and count it as refused."""
        log.log(level, "refused a call: %s (%s)", reason, carrier)
        count_not_started("refused")

    def _first_refusal(self, host: str) -> bool:
        """Whether `host` is refused for the first time (among the last REMEMBERED_HOSTS)."""
        if host in self._strangers:
            self._strangers.move_to_end(host)
            return False
        self._strangers[host] = None
        if len(self._strangers) > REMEMBERED_HOSTS:
            self._strangers.popitem(last=False)
        return True

    async def run_agent_call(
        self,
        transport: BaseTransport,
        call_id: str,
        can_transfer: bool = False,
        console: bool = False,
    ) -> CallCenterTools:
        """Run the agent on `transport` until the call ends (the carrier disconnecting cancels
        it); returns the call's tools (`tools.transferred`: the carrier should hand the caller
        to a person). With `can_transfer` (the carrier transfers: SIP) and
        agent.sip_transfer_target set, a service that stays down transfers the call. The
        carrier holds the call's place meanwhile. An error in the call is logged (run_call
        counts it as failed) and goes no further; cancelling the caller's task cancels the
        call. With `console` (a browser call) its turn events go to the page too."""
        worker, tools = build_call(
            transport, self.settings, self.orders, call_id=call_id, console=console
        )

        @transport.event_handler("on_client_disconnected")
        async def _hung_up(_transport: object, _client: object) -> None:
            log.info("call %s: caller hung up", call_id)
            await worker.cancel()

        log.info("call %s: started", call_id)
        outcome = "failed"
        try:
            transfer = can_transfer and bool(self.settings.agent.sip_transfer_target)
            outcome = await run_call(worker, call_id, tools.record_transfer if transfer else None)
        except asyncio.CancelledError:
            await worker.cancel()  # the process is shutting down
            raise
        except Exception:
            log.exception("call %s: failed", call_id)
        log.info("call %s: ended (%s); tools called: %s", call_id, outcome, tools.calls)
        return tools
