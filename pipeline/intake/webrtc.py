"""The WebRTC carrier: browser calls over Pipecat's SmallWebRTCTransport.

In: the process's `CallIntake`, then the browser's signalling on a FastAPI app. Out: POST
/api/offer (the SDP offer, which the page sends again with every ICE candidate; 400 for one
that is not an offer, has no audio track, or that aiortc refuses) and PATCH /api/offer (ICE
candidates trickled separately). Each connection runs the agent through the intake in a task
of its own, which outlives the offer request; `close()` cancels the calls still on the line.
"""

import asyncio

from fastapi import FastAPI, HTTPException
from pipecat.transports.base_transport import TransportParams
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection
from pipecat.transports.smallwebrtc.request_handler import (
    SmallWebRTCPatchRequest,
    SmallWebRTCRequest,
    SmallWebRTCRequestHandler,
)
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport

from pipeline.intake.calls import CallIntake

SHUTDOWN_TIMEOUT_S = 10  # how long close() waits for the cancelled calls to end


class WebRTCCalls:
    """Browser calls: the signalling routes and the calls they started."""

    def __init__(self, intake: CallIntake) -> None:
        self.intake = intake
        self.handler = SmallWebRTCRequestHandler(host="127.0.0.1")
        self.calls: set[asyncio.Task] = set()

    def add_routes(self, app: FastAPI) -> None:
        """POST and PATCH /api/offer on `app`."""

        @app.post("/api/offer")
        async def offer(request: SmallWebRTCRequest) -> dict:
            if request.type != "offer" or "\nm=audio " not in request.sdp:
                raise HTTPException(400, "expected an SDP offer with an audio track (m=audio)")
            try:
                return await self.handler.handle_web_request(
                    request=request, webrtc_connection_callback=self._connected
                )
            except HTTPException:
                raise
            except Exception as exc:  # aiortc's refusal of this offer; other calls go on
                raise HTTPException(400, f"WebRTC offer refused: {exc}") from exc

        @app.patch("/api/offer")
        async def ice_candidate(request: SmallWebRTCPatchRequest) -> dict:
            await self.handler.handle_patch_request(request)
            return {"status": "success"}

    async def close(self) -> None:
        """End the calls still on the line, then the connections' handler."""
        for call in self.calls:
            call.cancel()
        if self.calls:
            await asyncio.wait(self.calls, timeout=SHUTDOWN_TIMEOUT_S)
        await self.handler.close()

    async def _connected(self, connection: SmallWebRTCConnection) -> None:
        params = TransportParams(audio_in_enabled=True, audio_out_enabled=True)
        transport = SmallWebRTCTransport(connection, params)
        call_id = f"webrtc-{connection.pc_id}"
        call = asyncio.create_task(self.intake.run_agent_call(transport, call_id))
        self.calls.add(call)
        call.add_done_callback(self.calls.discard)
