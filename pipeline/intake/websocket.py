"""The WebSocket carrier: one call per Twilio-format media stream.

In: a FastAPI WebSocket whose peer speaks Twilio's media-stream protocol ("connected",
"start", then "media" events carrying base64 8 kHz mu-law, "stop"), and the process's
`CallIntake`. Admission, in this order, each refusal logged and counted:
- a peer outside agent.allowed_peers, or (when agent.websocket_token is set) an upgrade that
  does not carry the token in header X-Switchboard-Token or query parameter `token`: the
  handshake is refused (closed with 1008 policy violation before it is accepted, which the
  client sees as HTTP 403);
- a draining agent, or agent.max_calls calls in progress over every carrier: accepted, then
  closed at once with 1013 (try again later).
The peer is the TCP source address of the connection (forwarded headers are not trusted):
behind a proxy, the proxy's address is what agent.allowed_peers must allow. Out: a peer that
is not a Twilio media stream closed (1003) and counted as refused; otherwise the agent's call
on Pipecat's FastAPIWebsocketTransport with `PromptTwilioSerializer`
(pipeline/telephony/twilio_serializer.py), holding a place until either side hangs up. A
stream that has not started within START_TIMEOUT_S is closed (1008) and counted as refused.
"""

import asyncio
import hmac
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
TOKEN_HEADER = "X-Switchboard-Token"
NO_TOKEN = "no valid agent.websocket_token on the upgrade"
POLICY_VIOLATION, TRY_AGAIN_LATER, UNSUPPORTED_DATA = 1008, 1013, 1003
START_TIMEOUT_S = 5.0  # an accepted stream must send Twilio's "connected" and "start" by then


def carries_token(websocket: WebSocket, token: str) -> bool:
    """Whether the upgrade carries `token` (header or query); any upgrade when it is empty."""
    if not token:
        return True
    given = websocket.headers.get(TOKEN_HEADER) or websocket.query_params.get("token") or ""
    return hmac.compare_digest(given.encode(), token.encode())


async def take_websocket_call(websocket: WebSocket, intake: CallIntake) -> None:
    """Admit the call on `websocket` (see the module docstring) and run it until it ends;
    never raises for a caller's mistakes."""
    host = websocket.client.host if websocket.client else ""
    carrier = f"{CARRIER} from {host}"
    refusal = intake.refusal(host)
    if refusal != "peer" and not carries_token(websocket, intake.settings.agent.websocket_token):
        refusal = "token"
    if refusal is None:
        with intake.place():
            await websocket.accept()
            await _run_media_stream(websocket, intake, carrier)
        return
    intake.turn_away(NO_TOKEN if refusal == "token" else refusal, host, carrier)
    if refusal in ("peer", "token"):
        await websocket.close(code=POLICY_VIOLATION)  # not accepted: the client sees 403
    else:
        await websocket.accept()
        await websocket.close(code=TRY_AGAIN_LATER, reason=refusal)


async def _run_media_stream(websocket: WebSocket, intake: CallIntake, carrier: str) -> None:
    """The accepted `websocket`'s Twilio media stream, as the agent's call."""
    try:
        kind, call = await asyncio.wait_for(parse_telephony_websocket(websocket), START_TIMEOUT_S)
    except TimeoutError:
        intake.refuse(f"no media stream started within {START_TIMEOUT_S:.0f} s", carrier)
        await websocket.close(code=POLICY_VIOLATION, reason="no media stream started")
        return
    except Exception:  # the peer left or broke off before the stream started
        log.exception("WebSocket call: no media stream started")
        return
    if kind != "twilio" or not call.get("stream_id"):
        intake.refuse(f"the peer is not a Twilio media stream ({kind}); closing", carrier)
        await websocket.close(code=UNSUPPORTED_DATA, reason="expected Twilio media-stream messages")
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
