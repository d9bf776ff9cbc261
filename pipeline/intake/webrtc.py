"""The WebRTC carrier: browser calls over Pipecat's SmallWebRTCTransport.

In: the process's `CallIntake`, then the browser's signalling on a FastAPI app. Out: POST
/api/offer (the SDP offer, which the page sends again with every ICE candidate; 400 for one
that is not an offer, has no audio track, or that aiortc refuses) and PATCH /api/offer (ICE
candidates trickled separately). Admission: a request from a peer (the TCP source address)
outside agent.allowed_peers gets 403; an offer for a new connection while the agent drains
or holds agent.max_calls calls gets 503; each refusal is logged and counted. A new
connection holds its place from its offer until its call ends; the call runs the agent
through the intake in a task of its own, which outlives the offer request, and sends its turn
events to the page (RTVI server messages, the console of pipeline/demo/page/); `close()`
cancels the calls still on the line.
"""

import asyncio
import functools

from fastapi import FastAPI, HTTPException, Request
from pipecat.transports.base_transport import TransportParams
from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection
from pipecat.transports.smallwebrtc.request_handler import (
    SmallWebRTCPatchRequest,
    SmallWebRTCRequest,
    SmallWebRTCRequestHandler,
)
from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport

from pipeline.intake.calls import CallIntake
from pipeline.telephony.call_gate import Release

CARRIER = "WebRTC"

SHUTDOWN_TIMEOUT_S = 10  # how long close() waits for the cancelled calls to end


class WebRTCCalls:
    """Browser calls: the signalling routes and the calls they started."""

    def __init__(self, intake: CallIntake) -> None:
        self.intake = intake
        self.handler = SmallWebRTCRequestHandler(host="127.0.0.1")
        self.calls: set[asyncio.Task] = set()
        self.connections: set[str] = set()  # pc_id of each connection on a call

    def add_routes(self, app: FastAPI) -> None:
        """POST and PATCH /api/offer on `app`."""

        @app.post("/api/offer")
        async def offer(request: SmallWebRTCRequest, http: Request) -> dict:
            if request.type != "offer" or "\nm=audio " not in request.sdp:
                raise HTTPException(400, "expected an SDP offer with an audio track (m=audio)")
            release = self._admit(http, new=request.pc_id not in self.connections)
            try:
                return await self._answer(request, release)
            except BaseException:
                if release is not None:  # no call started with it
                    release()
                raise

        @app.patch("/api/offer")
        async def ice_candidate(request: SmallWebRTCPatchRequest, http: Request) -> dict:
            self._admit(http, new=False)
            await self.handler.handle_patch_request(request)
            return {"status": "success"}

    def _admit(self, http: Request, new: bool) -> Release | None:
        """A place for a new connection (None for one already on a call); HTTPException 403
        for a peer outside agent.allowed_peers, 503 while the agent drains or is full."""
        host = http.client.host if http.client else ""
        refusal = self.intake.refusal(host)
        if not new and refusal != "peer":
            refusal = None  # a connection already on a call: only who sends it matters
        if refusal is not None:
            self.intake.turn_away(refusal, host, f"{CARRIER} from {host}")
            if refusal == "peer":
                raise HTTPException(403, "not an allowed peer")
            raise HTTPException(503, f"not taking calls now ({refusal})")
        return self.intake.take() if new else None

    async def _answer(self, request: SmallWebRTCRequest, release: Release | None) -> dict:
        """aiortc's answer to `request`; a new connection's call starts holding `release`."""
        try:
            return await self.handler.handle_web_request(
                request=request,
                webrtc_connection_callback=functools.partial(self._connected, release),
            )
        except HTTPException:
            raise
        except Exception as exc:  # aiortc's refusal of this offer; other calls go on
            raise HTTPException(400, f"WebRTC offer refused: {exc}") from exc

    async def close(self) -> None:
        """End the calls still on the line, then the connections' handler."""
        for call in self.calls:
            call.cancel()
        if self.calls:
            await asyncio.wait(self.calls, timeout=SHUTDOWN_TIMEOUT_S)
        await self.handler.close()

    async def _connected(self, release: Release | None, connection: SmallWebRTCConnection) -> None:
        params = TransportParams(audio_in_enabled=True, audio_out_enabled=True)
        transport = SmallWebRTCTransport(connection, params)
        call = asyncio.create_task(
            self._call(transport, connection.pc_id, release or self.intake.take())
        )
        self.calls.add(call)
        self.connections.add(connection.pc_id)
        call.add_done_callback(self.calls.discard)

    async def _call(self, transport: SmallWebRTCTransport, pc_id: str, release: Release) -> None:
        """The agent's call on `transport`, holding its place until it ends."""
        try:
            await self.intake.run_agent_call(transport, f"webrtc-{pc_id}", console=True)
        finally:
            release()
            self.connections.discard(pc_id)
