"""The speech server: Riva's ASR and TTS services plus gRPC health on one port.

`start(settings)` binds the port and answers at once (health NOT_SERVING), then loads the
models in the background and switches health to SERVING. `serve(settings)` does that and
blocks until SIGINT/SIGTERM, then drains calls for a moment and stops.

ASR streams and TTS syntheses have a pool each (max_streams, max_tts_streams). The server
pings every connection's client every keepalive_s and drops a connection whose client does
not answer within keepalive_timeout_s, so a client that vanished (power cut, network gone,
no FIN) frees its slots in seconds.
"""

import logging
import signal
import threading
from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from riva.client.proto import riva_asr_pb2_grpc, riva_tts_pb2_grpc

from pipeline.settings import SpeechServerSettings
from pipeline.speech.asr_service import AsrServicer
from pipeline.speech.engines import Engines
from pipeline.speech.slots import StreamSlots
from pipeline.speech.tts_service import TtsServicer

logger = logging.getLogger(__name__)

ASR_SERVICE = "nvidia.riva.asr.RivaSpeechRecognition"
TTS_SERVICE = "nvidia.riva.tts.RivaSpeechSynthesis"
HEALTH_NAMES = ("", ASR_SERVICE, TTS_SERVICE)  # "" is the whole server
EXTRA_THREADS = 8  # beyond the two pools: health, config calls, and refusing the excess
MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # a Recognize call with half an hour of 16 kHz audio
MIN_CLIENT_PING_MS = 5000  # clients may ping this often, with or without calls, unpunished


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    engines: Engines
    health: health.HealthServicer
    asr_slots: StreamSlots
    tts_slots: StreamSlots
    loader: threading.Thread

    def stop(self, grace: float = 2.0) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait()


def server_options(settings: SpeechServerSettings) -> list[tuple[str, int]]:
    """gRPC channel arguments: message sizes, one server per port, keepalive both ways."""
    return [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.so_reuseport", 0),  # a second server on the same port fails, not shares
        # Our pings: find a vanished client even while its stream sends nothing.
        ("grpc.keepalive_time_ms", round(settings.keepalive_s * 1000)),
        ("grpc.keepalive_timeout_ms", round(settings.keepalive_timeout_s * 1000)),
        # Any unanswered ping ends the connection after that long (gRPC's own flow-control
        # pings would otherwise hold a keepalive back for a minute).
        ("grpc.http2.ping_timeout_ms", round(settings.keepalive_timeout_s * 1000)),
        ("grpc.http2.max_pings_without_data", 0),  # keep pinging a silent stream
        # Clients' pings: accepted (not answered with GOAWAY too_many_pings) when no more
        # often than MIN_CLIENT_PING_MS, also on a connection with no call in progress.
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", MIN_CLIENT_PING_MS),
    ]


def start(settings: SpeechServerSettings, engines: Engines | None = None) -> RunningServer:
    """Bind, start answering, and load the models (`engines`, by default the real ones) in a
    background thread."""
    threads = settings.max_streams + settings.max_tts_streams + EXTRA_THREADS
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="speech-rpc"),
        maximum_concurrent_rpcs=threads,  # grpc itself refuses anything beyond the pool
        options=server_options(settings),
    )
    engines = engines or Engines()
    asr_slots = StreamSlots(settings.max_streams, "ASR streams", "speech_server.max_streams")
    tts_slots = StreamSlots(
        settings.max_tts_streams, "TTS syntheses", "speech_server.max_tts_streams"
    )
    health_servicer = health.HealthServicer()
    for name in HEALTH_NAMES:
        health_servicer.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    riva_asr_pb2_grpc.add_RivaSpeechRecognitionServicer_to_server(
        AsrServicer(engines, asr_slots, settings.early_final_ms), server
    )
    riva_tts_pb2_grpc.add_RivaSpeechSynthesisServicer_to_server(
        TtsServicer(engines, tts_slots, settings.max_text_chars), server
    )
    address = f"{settings.host}:{settings.port}"
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as exc:  # grpc's "Failed to bind"
        raise OSError(f"cannot listen on {address}: is the port in use?") from exc
    server.start()
    logger.info("speech-server listening on %s:%d, loading models", settings.host, port)

    def load() -> None:
        try:
            engines.load(settings)
        except Exception:
            logger.exception("loading the speech models failed; health stays NOT_SERVING")
            return
        for name in HEALTH_NAMES:
            health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
        logger.info("speech-server SERVING on %s:%d", settings.host, port)

    loader = threading.Thread(target=load, name="speech-model-loader", daemon=True)
    loader.start()
    return RunningServer(server, port, engines, health_servicer, asr_slots, tts_slots, loader)


def serve(settings: SpeechServerSettings, engines: Engines | None = None) -> int:
    """Run until SIGINT or SIGTERM; returns the process exit code."""
    running = start(settings, engines)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        logger.info("signal %d: stopping", signum)
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stopping.wait()
    running.stop()
    return 0
