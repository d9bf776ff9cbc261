"""A live `switchboard speech-server` for tests: one subprocess for the whole test session.

Test modules import the `speech_server` fixture from here. The process starts once (the
models load once), even when several modules use it, and stops when the session exits.
"""

import atexit
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from pipeline.bench.localhost import free_port

REPO = Path(__file__).resolve().parent.parent
MAX_STREAMS = 8
MAX_TTS_STREAMS = 4
MAX_TEXT_CHARS = 600
START_TIMEOUT_S = 180


@dataclass
class SpeechServer:
    address: str  # "127.0.0.1:PORT"
    port: int
    max_streams: int
    max_tts_streams: int
    max_text_chars: int
    process: subprocess.Popen
    log_path: Path
    health_seen: list[str] = field(default_factory=list)  # statuses while it started

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def health_status(address: str, service: str = "", timeout: float = 1.0) -> str:
    """SERVING / NOT_SERVING / ..., or UNREACHABLE when nothing answers."""
    with grpc.insecure_channel(address) as channel:
        try:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout
            )
        except grpc.RpcError:
            return "UNREACHABLE"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


_server: SpeechServer | None = None


def start_speech_server() -> SpeechServer:
    """Start the server once per process and wait until health says SERVING."""
    global _server
    if _server is not None:
        return _server
    port = free_port()
    log = Path(tempfile.mkstemp(prefix="speech-server-", suffix=".log")[1])
    env = os.environ | {
        "SWITCHBOARD_SPEECH_SERVER__MAX_STREAMS": str(MAX_STREAMS),
        "SWITCHBOARD_SPEECH_SERVER__MAX_TEXT_CHARS": str(MAX_TEXT_CHARS),
    }
    command = [sys.executable, "-m", "pipeline.cli", "speech-server"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    command += ["--max-tts-streams", str(MAX_TTS_STREAMS)]  # the flag; max_streams: the env
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=out)
    address = f"127.0.0.1:{port}"
    server = SpeechServer(address, port, MAX_STREAMS, MAX_TTS_STREAMS, MAX_TEXT_CHARS, process, log)
    atexit.register(_stop, server)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        status = health_status(server.address)
        if not server.health_seen or server.health_seen[-1] != status:
            server.health_seen.append(status)
        if status == "SERVING":
            break
        if process.poll() is not None or time.monotonic() > deadline:
            _stop(server)
            raise RuntimeError(f"speech-server did not become SERVING:\n{server.log_tail()}")
        time.sleep(0.1)
    _server = server
    return server


def _stop(server: SpeechServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
    server.log_path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def speech_server() -> SpeechServer:
    return start_speech_server()
