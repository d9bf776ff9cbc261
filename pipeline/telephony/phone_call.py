"""The agent's pipeline on one phone leg, whatever carries it (SIP/RTP, AudioSocket).

In: a `CallMedia` leg, a name for the call, the settings and the order fixture. Out: the
call's tools once the pipeline has ended (they record what the LLM called, so the caller's
signaling can tell a transfer from a hang-up). The leg ending (the caller hung up) cancels
the pipeline.
"""

import logging
from collections.abc import Mapping
from typing import Any

from pipeline.agent.call import build_call, run_call
from pipeline.agent.tools import CallCenterTools
from pipeline.settings import Settings
from pipeline.telephony.call_media import CallMedia
from pipeline.telephony.media_transport import PhoneMediaTransport

log = logging.getLogger(__name__)


async def run_phone_call(
    media: CallMedia, name: str, settings: Settings, orders: Mapping[str, Mapping[str, Any]]
) -> CallCenterTools:
    """Run the agent on `media` until the call ends; returns the call's tools."""
    transport = PhoneMediaTransport(media, name=name)
    worker, tools = build_call(transport, settings, orders, call_id=name)

    @transport.event_handler("on_client_disconnected")
    async def _hung_up(_transport: object, _name: object) -> None:
        await worker.cancel()

    log.info("call %s: started", name)
    await run_call(worker, name)
    log.info("call %s: ended; tools called: %s", name, tools.calls)
    return tools
