"""`switchboard demo --interactive`: talk to the agent from a browser (WebRTC), all on CPU.

In: settings and a port. Out: http://localhost:PORT/ serving the page in `page/` (plain
WebRTC, no third-party hosts: Pipecat's prebuilt page fetches Daily's call-machine bundle from
c.daily.co before it will connect, so it cannot work air-gapped); each browser connection gets
the same agent pipeline as a phone call, over Pipecat's SmallWebRTCTransport. The speech and
LLM servers run as children (as in `serve --cpu`) and stop when this command stops.
"""

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from pipeline.settings import Settings

log = logging.getLogger(__name__)
PAGE = Path(__file__).with_name("page")
SHUTDOWN_TIMEOUT_S = 10


def create_browser_app(settings: Settings):
    """The FastAPI app: the page at /, WebRTC signalling at /api/offer."""
    from fastapi import FastAPI, HTTPException
    from fastapi.staticfiles import StaticFiles
    from pipecat.transports.base_transport import TransportParams
    from pipecat.transports.smallwebrtc.connection import SmallWebRTCConnection
    from pipecat.transports.smallwebrtc.request_handler import (
        SmallWebRTCPatchRequest,
        SmallWebRTCRequest,
        SmallWebRTCRequestHandler,
    )
    from pipecat.transports.smallwebrtc.transport import SmallWebRTCTransport

    from pipeline.agent.call import build_call, run_call
    from pipeline.agent.tools import load_orders

    orders = load_orders(settings.agent.orders_file)
    handler = SmallWebRTCRequestHandler(host="127.0.0.1")
    calls: set[asyncio.Task] = set()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        for call in calls:  # shutting down: end the calls still on the line
            call.cancel()
        if calls:
            await asyncio.wait(calls, timeout=SHUTDOWN_TIMEOUT_S)
        await handler.close()

    app = FastAPI(title="switchboard demo", docs_url=None, redoc_url=None, lifespan=lifespan)

    async def browser_call(connection: SmallWebRTCConnection) -> None:
        params = TransportParams(audio_in_enabled=True, audio_out_enabled=True)
        transport = SmallWebRTCTransport(connection, params)
        worker, tools = build_call(transport, settings, orders)

        @transport.event_handler("on_client_disconnected")
        async def _left(_transport: object, _client: object) -> None:
            await worker.cancel()

        try:
            await run_call(worker)
        except asyncio.CancelledError:
            await worker.cancel()  # the page is shutting down
            raise
        except Exception:
            log.exception("browser call failed")  # the other calls go on
        log.info("browser call ended; tools called: %s", tools.calls)

    async def connected(connection: SmallWebRTCConnection) -> None:
        # The call outlives the offer request: a task of its own, ended at shutdown.
        call = asyncio.create_task(browser_call(connection))
        calls.add(call)
        call.add_done_callback(calls.discard)

    # POST: the SDP offer (the page sends it with every ICE candidate); PATCH: trickled
    # candidates, for clients that send them separately.
    @app.post("/api/offer")
    async def offer(request: SmallWebRTCRequest) -> dict:
        if request.type != "offer" or "\nm=audio " not in request.sdp:
            raise HTTPException(400, "expected an SDP offer with an audio track (m=audio)")
        try:
            return await handler.handle_web_request(
                request=request, webrtc_connection_callback=connected
            )
        except HTTPException:
            raise
        except Exception as exc:  # aiortc's refusal of this offer; other calls go on
            raise HTTPException(400, f"WebRTC offer refused: {exc}") from exc

    @app.patch("/api/offer")
    async def ice_candidate(request: SmallWebRTCPatchRequest) -> dict:
        await handler.handle_patch_request(request)
        return {"status": "success"}

    app.mount("/", StaticFiles(directory=PAGE, html=True))
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
