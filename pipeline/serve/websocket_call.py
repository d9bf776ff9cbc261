"""One phone call over a Twilio-format WebSocket media stream.

In: an accepted FastAPI WebSocket whose peer speaks Twilio's media-stream protocol
("connected", "start", then "media" events carrying base64 8 kHz mu-law, "stop").
Out: the agent's audio as "media" events on the same socket ("clear" when the caller
barges in), until either side hangs up. Pipecat's FastAPIWebsocketTransport and
TwilioFrameSerializer do the work; this module only wires them to the agent's pipeline,
with the caller's audio upsampled packet by packet (pipeline/telephony/line_upsampler.py).
"""

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import WebSocket
from pipecat.runner.utils import parse_telephony_websocket
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)

from pipeline.agent.call import build_call, run_call
from pipeline.agent.metrics import CALLS
from pipeline.settings import Settings
from pipeline.telephony.line_upsampler import LineUpsampler

log = logging.getLogger(__name__)


class PromptTwilioSerializer(TwilioFrameSerializer):
    """Pipecat's Twilio serializer, but each 20 ms media event becomes 20 ms of 16 kHz audio
    at once: its stream resampler would hand the caller's audio on in ~95 ms blocks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._input_resampler = LineUpsampler()  # Pipecat 1.14's name for it


async def run_websocket_call(
    websocket: WebSocket, settings: Settings, orders: Mapping[str, Mapping[str, Any]]
) -> None:
    """Run the call on `websocket` until it ends; never raises for a caller's mistakes."""
    kind, call = await parse_telephony_websocket(websocket)
    if kind != "twilio" or not call.get("stream_id"):
        log.warning("websocket peer is not a Twilio media stream (%s); closing", kind)
        await websocket.close(code=1003, reason="expected Twilio media-stream messages")
        CALLS.labels("refused").inc()
        return
    serializer = PromptTwilioSerializer(
        stream_sid=call["stream_id"],
        call_sid=call.get("call_id"),
        params=PromptTwilioSerializer.InputParams(auto_hang_up=False),
    )
    transport = FastAPIWebsocketTransport(
        websocket,
        FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            add_wav_header=False,
            serializer=serializer,
        ),
    )
    worker, tools = build_call(transport, settings, orders, call_id=call["stream_id"])

    @transport.event_handler("on_client_disconnected")
    async def _hung_up(_transport: object, _client: object) -> None:
        log.info("call %s: caller hung up", call["stream_id"])
        await worker.cancel()

    log.info("call %s: started", call["stream_id"])
    outcome = await run_call(worker, call["stream_id"])
    log.info("call %s: ended (%s); tools called: %s", call["stream_id"], outcome, tools.calls)
