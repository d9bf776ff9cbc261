"""The agent's HTTP/WebSocket face: calls in, health out.

In: settings, and the process's `CallIntake` (one is built from the settings when none is
given). Out: a FastAPI app with
- WebSocket `agent.websocket_path` (default /ws): one Twilio-format media stream per call
  (pipeline/intake/websocket.py), refused while the intake drains (HTTP 403 to the handshake);
- GET /healthz: 200 while the process runs (liveness), with the number of calls in progress;
- GET /readyz: 200 when ASR, TTS and the LLM answer, else 503 naming what does not; 503
  "draining" once a SIGTERM has started the drain (pipeline/serve/drain.py).
`serve` listens with the same app on agent.websocket_port and agent.health_port.
"""

import asyncio

from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse

from pipeline.agent.endpoints import EndpointError, check_endpoints
from pipeline.intake.calls import CallIntake
from pipeline.intake.websocket import take_websocket_call
from pipeline.settings import Settings


def create_app(settings: Settings, intake: CallIntake | None = None) -> FastAPI:
    intake = intake or CallIntake(settings)
    app = FastAPI(title="switchboard agent", docs_url=None, redoc_url=None)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "alive", "calls": intake.calls}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        if intake.draining:
            body = {"status": "draining", "calls": intake.calls}
            return JSONResponse(body, status_code=503)
        try:
            await asyncio.to_thread(check_endpoints, settings)
        except EndpointError as exc:
            return JSONResponse({"status": "not ready", "reason": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready", "calls": intake.calls})

    @app.websocket(settings.agent.websocket_path)
    async def call(websocket: WebSocket) -> None:
        await take_websocket_call(websocket, intake)

    return app
