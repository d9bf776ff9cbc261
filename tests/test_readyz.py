"""/readyz checks the endpoints at most once every few seconds, however often it is probed:
fake ASR/TTS (a gRPC health server) and LLM (an HTTP /models) count what the probes cost."""

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from asgi_server import serving
from grpc_health.v1 import health, health_pb2_grpc

from pipeline.bench.localhost import free_port
from pipeline.serve.app import create_app
from pipeline.serve.readiness import EndpointReadiness
from pipeline.settings import Settings

MODEL = "stand-in"


@dataclass
class Endpoints:
    settings: Settings
    grpc_server: grpc.Server
    health_checks: int = 0
    model_lists: int = 0
    check_delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class CountingHealth(health.HealthServicer):
    def __init__(self, endpoints: "list[Endpoints]") -> None:
        super().__init__()
        self._endpoints = endpoints

    def Check(self, request, context):  # noqa: N802 (gRPC's name)
        endpoints = self._endpoints[0]
        with endpoints.lock:
            endpoints.health_checks += 1
        time.sleep(endpoints.check_delay_s)
        return super().Check(request, context)


@contextmanager
def fake_endpoints() -> Iterator[Endpoints]:
    """A gRPC health server (both speech endpoints) and an LLM listing MODEL, counting."""
    holder: list[Endpoints] = []

    class Models(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            with holder[0].lock:
                holder[0].model_lists += 1
            body = json.dumps({"data": [{"id": MODEL}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    grpc_port = free_port()
    server = grpc.server(futures.ThreadPoolExecutor(8))
    health_pb2_grpc.add_HealthServicer_to_server(CountingHealth(holder), server)
    server.add_insecure_port(f"127.0.0.1:{grpc_port}")
    server.start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), Models)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    settings = Settings(
        asr={"server": f"127.0.0.1:{grpc_port}"},
        tts={"server": f"127.0.0.1:{grpc_port}"},
        llm={"base_url": f"http://127.0.0.1:{http.server_port}/v1", "model": MODEL},
    )
    holder.append(Endpoints(settings, server))
    try:
        yield holder[0]
    finally:
        http.shutdown()
        server.stop(None)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_probes_share_one_endpoint_check() -> None:
    with fake_endpoints() as endpoints, serving(create_app(endpoints.settings)) as url:
        statuses = [_status(url + "/readyz") for _ in range(30)]
        assert statuses == [200] * 30
        assert (endpoints.health_checks, endpoints.model_lists) == (2, 1)  # ASR + TTS, LLM


def test_concurrent_probes_wait_for_the_check_in_flight() -> None:
    with fake_endpoints() as endpoints, serving(create_app(endpoints.settings)) as url:
        endpoints.check_delay_s = 0.5  # every probe arrives while the first check runs
        with futures.ThreadPoolExecutor(20) as pool:
            statuses = list(pool.map(_status, [url + "/readyz"] * 20))
        assert statuses == [200] * 20
        assert (endpoints.health_checks, endpoints.model_lists) == (2, 1)


async def test_a_check_stands_for_its_cache_time_then_is_redone() -> None:
    with fake_endpoints() as endpoints:
        readiness = EndpointReadiness(endpoints.settings, cache_s=0.5)
        assert await readiness.problem() is None
        endpoints.grpc_server.stop(None)  # ASR and TTS go away
        assert await readiness.problem() is None  # the last answer still stands
        await asyncio.sleep(0.6)
        problem = await readiness.problem()
        assert problem and "ASR endpoint" in problem and "asr.server" in problem
        assert endpoints.model_lists == 2


def test_not_ready_is_cached_too() -> None:
    with fake_endpoints() as endpoints:
        endpoints.grpc_server.stop(None)
        with serving(create_app(endpoints.settings)) as url:
            assert [_status(url + "/readyz") for _ in range(5)] == [503] * 5
        assert endpoints.model_lists == 1
