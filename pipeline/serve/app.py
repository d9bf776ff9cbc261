"""The agent's HTTP/WebSocket face: calls in, health out.

In: settings. Out: a FastAPI app with
- WebSocket `agent.websocket_path` (default /ws): one Twilio-format media stream per call;
- GET /healthz: 200 while the process runs (liveness), with the number of calls in progress;
- GET /readyz: 200 when ASR, TTS and the LLM answer, else 503 naming what does not; 503
  "draining" once a SIGTERM has started the drain (pipeline/serve/drain.py), when new calls
  are refused too (the WebSocket handshake gets HTTP 403).
`serve` listens with the same app on agent.websocket_port and agent.health_port.
"""

import asyncio
import logging

from fastapi import FastAPI, WebSocket
from fastapi.responses import JSONResponse

from pipeline.agent.endpoints import EndpointError, check_endpoints
from pipeline.agent.metrics import CALLS
from pipeline.agent.tools import load_orders
from pipeline.serve.websocket_call import run_websocket_call
from pipeline.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    orders = load_orders(settings.agent.orders_file)
    app = FastAPI(title="switchboard agent", docs_url=None, redoc_url=None)
    app.state.calls = 0
    app.state.draining = False

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "alive", "calls": app.state.calls}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        if app.state.draining:
            body = {"status": "draining", "calls": app.state.calls}
            return JSONResponse(body, status_code=503)
        try:
            await asyncio.to_thread(check_endpoints, settings)
        except EndpointError as exc:
            return JSONResponse({"status": "not ready", "reason": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready", "calls": app.state.calls})

    @app.websocket(settings.agent.websocket_path)
    async def call(websocket: WebSocket) -> None:
        if app.state.draining:
            log.info("refused a call: draining")
            CALLS.labels("refused").inc()
            await websocket.close(code=1013, reason="draining")
            return
        await websocket.accept()
        app.state.calls += 1
        try:
            await run_websocket_call(websocket, settings, orders)
        except Exception:
            log.exception("call failed")  # counted as failed by run_call
        finally:
            app.state.calls -= 1

    return app
