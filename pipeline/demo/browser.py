"""`switchboard demo --interactive`: talk to the agent from a browser (WebRTC), all on CPU.

In: settings and a port. Out: http://localhost:PORT/ serving Pipecat's prebuilt SmallWebRTC
page (package `pipecat-ai-small-webrtc-prebuilt`); each browser connection gets the same
agent pipeline as a phone call, over Pipecat's SmallWebRTCTransport. The speech and LLM
servers run as children (as in `serve --cpu`) and stop when this command stops.
"""

import logging
import signal
import sys
import uuid
from pathlib import Path

from pipeline.settings import Settings

log = logging.getLogger(__name__)


def create_browser_app(settings: Settings):
    """The FastAPI app: the page at /client/, WebRTC signalling at /api/offer."""
    from fastapi import BackgroundTasks, FastAPI
    from fastapi.responses import RedirectResponse
    from pipecat.transports.base_transport import TransportParams
    from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection
    from pipecat.transports.smallwebrtc.request_handler import (
        SmallWebRTCPatchRequest,
        SmallWebRTCRequest,
        SmallWebRTCRequestHandler,
    )
    from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport
    from pipecat_ai_small_webrtc_prebuilt.frontend import SmallWebRTCPrebuiltUI

    from pipeline.agent.call import build_call, run_call
    from pipeline.agent.tools import load_orders

    orders = load_orders(settings.agent.orders_file)
    handler = SmallWebRTCRequestHandler(host="127.0.0.1")
    app = FastAPI(title="switchboard demo", docs_url=None, redoc_url=None)
    app.mount("/client", SmallWebRTCPrebuiltUI)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(url="/client/")

    async def browser_call(connection: SmallWebRTCConnection) -> None:
        params = TransportParams(audio_in_enabled=True, audio_out_enabled=True)
        transport = SmallWebRTCTransport(connection, params)
        worker, tools = build_call(transport, settings, orders)

        @transport.event_handler("on_client_disconnected")
        async def _left(_transport: object, _client: object) -> None:
            await worker.cancel()

        await run_call(worker)
        log.info("browser call ended; tools called: %s", tools.calls)

    # The page first POSTs /start for a session id, then signals WebRTC at
    # /sessions/{id}/api/offer (POST: the SDP offer; PATCH: ICE candidates).
    @app.post("/start")
    async def start() -> dict:
        return {"sessionId": str(uuid.uuid4())}

    @app.post("/api/offer")
    @app.post("/sessions/{session_id}/api/offer")
    async def offer(
        request: SmallWebRTCRequest, background_tasks: BackgroundTasks, session_id: str = ""
    ) -> dict:
        async def connected(connection: SmallWebRTCConnection) -> None:
            background_tasks.add_task(browser_call, connection)

        return await handler.handle_web_request(
            request=request, webrtc_connection_callback=connected
        )

    @app.patch("/api/offer")
    @app.patch("/sessions/{session_id}/api/offer")
    async def ice_candidate(request: SmallWebRTCPatchRequest, session_id: str = "") -> dict:
        await handler.handle_patch_request(request)
        return {"status": "success"}

    @app.on_event("shutdown")
    async def _close() -> None:
        await handler.close()

    return app


def serve_browser(settings: Settings, port: int, log_dir: Path) -> int:
    """Start the CPU stand-ins, then serve the page until Ctrl-C."""
    import uvicorn

    from pipeline.serve.cpu_mode import cpu_children
    from pipeline.serve.supervisor import ChildFailed, Supervisor
    from pipeline.turn.shared import shared_engine

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        import pipecat_ai_small_webrtc_prebuilt  # noqa: F401
    except ImportError:
        print(
            "switchboard demo --interactive needs the browser page: "
            "pip install 'switchboard[demo]' (pipecat-ai-small-webrtc-prebuilt)",
            file=sys.stderr,
        )
        return 2
    # SIGTERM ends the page like Ctrl-C does, so the children are always stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    children, settings = cpu_children(settings, log_dir)
    supervisor = Supervisor(children)
    try:
        supervisor.start(settings.agent.start_timeout_s)
        shared_engine(settings.turn)
        print(f"talk to the agent at http://localhost:{port}/ (Ctrl-C stops)")
        uvicorn.run(create_browser_app(settings), host="127.0.0.1", port=port, log_level="warning")
        return 0
    except ChildFailed as exc:
        print(f"switchboard demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        supervisor.stop()
