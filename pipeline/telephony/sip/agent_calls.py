"""The SIP listener of `switchboard serve`: each answered SIP call runs the agent's pipeline.

In: the settings and the web app's state (`calls` in progress, `draining`), shared with the
WebSocket and AudioSocket calls. Out: a started `SipServer` whose handler runs the agent on
the call's RTP leg and tells the SIP side how the bot ended it: "transfer" when the LLM
called transfer_to_human (the server sends REFER to agent.sip_transfer_target), else
"hangup" (BYE). While the agent drains, new INVITEs get 503.
"""

import logging
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import State

from pipeline.agent.tools import load_orders
from pipeline.settings import Settings
from pipeline.telephony.call_media import CallMedia
from pipeline.telephony.phone_call import run_phone_call
from pipeline.telephony.sip.handler import CallEnd, CallInfo
from pipeline.telephony.sip.server import SipServer

log = logging.getLogger(__name__)


class AgentCallHandler:
    """A `CallHandler` that runs the agent's pipeline."""

    def __init__(
        self, settings: Settings, orders: Mapping[str, Mapping[str, Any]], state: State
    ) -> None:
        self.settings, self.orders, self.state = settings, orders, state

    async def __call__(self, media: CallMedia, call: CallInfo) -> CallEnd:
        self.state.calls += 1
        try:
            tools = await run_phone_call(media, f"sip-{call.call_id}", self.settings, self.orders)
        finally:
            self.state.calls -= 1
        transferred = any(function == "transfer_to_human" for function, _ in tools.calls)
        return "transfer" if transferred else "hangup"


async def start_sip(settings: Settings, state: State) -> SipServer:
    """The SIP server on agent.host:agent.sip_port; SystemExit naming the setting when the
    port is taken."""
    agent = settings.agent
    handler = AgentCallHandler(settings, load_orders(agent.orders_file), state)
    server = SipServer(agent, handler, accepting=lambda: not state.draining)
    try:
        await server.start()
    except OSError as exc:
        raise SystemExit(
            f"switchboard serve: cannot listen for SIP on {agent.host}:{agent.sip_port} "
            f"({exc.strerror}); set --sip-port (SWITCHBOARD_AGENT__SIP_PORT) to a free port"
        ) from exc
    return server
