"""The agent's HTTP/WebSocket face: calls in, health out.

In: settings, and the process's `CallIntake` (one is built from the settings when none is
given). Out: a FastAPI app with
- WebSocket `agent.websocket_path` (default /ws): one Twilio-format media stream per call
  (pipeline/intake/websocket.py), admitted by the intake: a peer outside agent.allowed_peers
  or without agent.websocket_token refused at the handshake (HTTP 403), a draining or full
  agent closes the call with 1013;
- GET /healthz: 200 while the process runs (liveness), with the number of calls in progress;
- GET /readyz: 200 when ASR, TTS and the LLM answered, else 503 naming what did not (one
  check every few seconds at most, shared by every probe: pipeline/serve/readiness.py); 503
  "draining" once a SIGTERM has started the drain (pipeline/serve/drain.py).
`serve` listens with the same app on agent.websocket_port and agent.health_port.
"""

from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse

from pipeline.intake.calls import CallIntake
from pipeline.intake.websocket import take_websocket_call
from pipeline.serve.readiness import EndpointReadiness
from pipeline.settings import Settings


def create_app(settings: Settings, intake: CallIntake | None = None) -> FastAPI:
    intake = intake or CallIntake(settings)
    readiness = EndpointReadiness(settings)
    app = FastAPI(title="switchboard agent", docs_url=None, redoc_url=None)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "alive", "calls": intake.calls}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        if intake.draining:
            body = {"status": "draining", "calls": intake.calls}
            return JSONResponse(body, status_code=503)
        if problem := await readiness.problem():
            return JSONResponse({"status": "not ready", "reason": problem}, status_code=503)
        return JSONResponse({"status": "ready", "calls": intake.calls})

    @app.websocket(settings.agent.websocket_path)
    async def call(websocket: WebSocket) -> None:
        await take_websocket_call(websocket, intake)

    return app
