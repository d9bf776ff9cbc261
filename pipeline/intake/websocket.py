"""The WebSocket carrier: one call per Twilio-format media stream.

In: a FastAPI WebSocket whose peer speaks Twilio's media-stream protocol ("connected",
"start", then "media" events carrying base64 8 kHz mu-law, "stop"), and the process's
`CallIntake`. Out: while the intake drains, the handshake refused (close code 1013, which the
client sees as HTTP 403); a peer that is not a Twilio media stream closed (1003) and counted
as refused; otherwise the agent's call on Pipecat's FastAPIWebsocketTransport with
`PromptTwilioSerializer` (pipeline/telephony/twilio_serializer.py), until either side hangs up.
"""

import logging

from fastapi import WebSocket
from pipecat.runner.utils import parse_telephony_websocket
from pipecat.transports.websocket.fastapi import (
    FastAPIWebsocketParams,
    FastAPIWebsocketTransport,
)

from pipeline.intake.calls import CallIntake
from pipeline.telephony.twilio_serializer import PromptTwilioSerializer

log = logging.getLogger(__name__)

CARRIER = "WebSocket"


async def take_websocket_call(websocket: WebSocket, intake: CallIntake) -> None:
    """Take the call on `websocket` and run it until it ends; never raises for a caller's
    mistakes."""
    if intake.draining:
        intake.refuse("draining", CARRIER, level=logging.INFO)
        await websocket.close(code=1013, reason="draining")
        return
    await websocket.accept()
    try:
        kind, call = await parse_telephony_websocket(websocket)
    except Exception:  # the peer left or broke off before the stream started
        log.exception("WebSocket call: no media stream started")
        return
    if kind != "twilio" or not call.get("stream_id"):
        intake.refuse(f"the peer is not a Twilio media stream ({kind}); closing", CARRIER)
        await websocket.close(code=1003, reason="expected Twilio media-stream messages")
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
    await intake.run_agent_call(transport, call["stream_id"])
