"""`switchboard demo --interactive`: talk to the agent from a browser (WebRTC), all on CPU.

In: settings, a port and where the children's logs go. Out: http://localhost:PORT/ serving
the page in `page/` (plain WebRTC, no third-party hosts: Pipecat's prebuilt page fetches
Daily's call-machine bundle from c.daily.co before it will connect, so it cannot work
air-gapped) and the WebRTC signalling of pipeline/intake/webrtc.py: each browser connection
gets the same agent pipeline as a phone call. The speech and LLM servers run as children (as
in `serve --cpu`, pipeline/serve/agent_process.py) and stop when this command stops.
"""

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from pipeline.settings import Settings

PAGE = Path(__file__).with_name("page")


def create_browser_app(settings: Settings):
    """The FastAPI app: the page at /, WebRTC signalling at /api/offer."""
    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles

    from pipeline.intake.calls import CallIntake
    from pipeline.intake.webrtc import WebRTCCalls

    calls = WebRTCCalls(CallIntake(settings))

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await calls.close()  # shutting down: end the calls still on the line

    app = FastAPI(title="switchboard demo", docs_url=None, redoc_url=None, lifespan=lifespan)
    calls.add_routes(app)
    app.mount("/", StaticFiles(directory=PAGE, html=True))
    return app


def serve_browser(settings: Settings, port: int, log_dir: Path) -> int:
    """Start the CPU stand-ins, then serve the page until Ctrl-C."""
    from pipeline.serve.agent_process import run_agent_process

    def serve_page(settings: Settings) -> int:
        import uvicorn

        from pipeline.turn.engine_registry import shared_engine

        shared_engine(settings.turn)
        print(f"talk to the agent at http://localhost:{port}/ (Ctrl-C stops)")
        app = create_browser_app(settings)
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
        return 0

    return run_agent_process("demo", settings, serve_page, log_dir)
