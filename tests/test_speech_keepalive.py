"""A client that vanishes without closing its connection (its host gone from the network: no
FIN, nothing answers) frees its ASR and TTS slots within seconds, through the server's gRPC
keepalive. Runs the real server on a real port; the client reaches it through a TCP proxy
that the test can black-hole. The models are replaced by stand-ins: a held stream never gets
far enough to use them."""

import socket
import threading
import time
from types import SimpleNamespace

import grpc
import pytest
from riva.client.proto import riva_asr_pb2 as rasr
from riva.client.proto import riva_asr_pb2_grpc, riva_tts_pb2_grpc
from riva.client.proto import riva_tts_pb2 as rtts

from pipeline.bench.localhost import free_port
from pipeline.settings import SpeechServerSettings
from pipeline.speech import server as speech_server_module
from pipeline.speech.engines import Engines

FREED_WITHIN_S = 15.0  # keepalive 1 s + timeout 1 s, with room for a loaded machine


class Blackhole:
    """A TCP proxy to 127.0.0.1:`target` that can stop forwarding: both sides stay
    connected, but nothing passes and nothing is closed, as when a client's host vanishes."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.forwarding = True
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                if self.forwarding:
                    dst.sendall(data)
            if self.forwarding:
                dst.shutdown(socket.SHUT_WR)
        except OSError:
            return

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def _stand_in(self: Engines, settings: SpeechServerSettings) -> SimpleNamespace:
    """'Loaded' models: enough for a call to take its slot and be told NOT_FOUND."""
    voice = SimpleNamespace(matches=lambda name: name == "", full="stand-in")
    self._loaded = SimpleNamespace(asr_model="stand-in", tts=SimpleNamespace(name=voice))
    return self._loaded


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(Engines, "load", _stand_in)
    settings = SpeechServerSettings(
        port=free_port(), max_streams=1, max_tts_streams=1, keepalive_s=1, keepalive_timeout_s=1
    )
    running = speech_server_module.start(settings)
    running.loader.join(10)
    yield running
    running.stop(grace=0)


def held_requests(release: threading.Event):
    """A request stream that sends nothing until released: the call holds its slot."""
    release.wait()
    yield from ()


def probe(channel: grpc.Channel) -> dict[str, grpc.StatusCode]:
    """One call per pool, each for a model that does not exist: NOT_FOUND when the call got
    a slot, RESOURCE_EXHAUSTED when its pool is full."""
    asr = riva_asr_pb2_grpc.RivaSpeechRecognitionStub(channel)
    tts = riva_tts_pb2_grpc.RivaSpeechSynthesisStub(channel)
    calls = {
        "asr": lambda: asr.Recognize(
            rasr.RecognizeRequest(config=rasr.RecognitionConfig(model="other")), timeout=5
        ),
        "tts": lambda: tts.Synthesize(rtts.SynthesizeSpeechRequest(voice_name="other"), timeout=5),
    }
    codes = {}
    for pool, call in calls.items():
        with pytest.raises(grpc.RpcError) as failure:
            call()
        codes[pool] = failure.value.code()
    return codes


FREE = {"asr": grpc.StatusCode.NOT_FOUND, "tts": grpc.StatusCode.NOT_FOUND}
FULL = {"asr": grpc.StatusCode.RESOURCE_EXHAUSTED, "tts": grpc.StatusCode.RESOURCE_EXHAUSTED}


def test_a_vanished_client_frees_its_slots_within_seconds(server):
    direct = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    proxy = Blackhole(server.port)
    vanishing = grpc.insecure_channel(f"127.0.0.1:{proxy.port}")
    release = threading.Event()
    try:
        assert probe(direct) == FREE
        held = [
            riva_asr_pb2_grpc.RivaSpeechRecognitionStub(vanishing).StreamingRecognize(
                held_requests(release)
            ),
            riva_tts_pb2_grpc.RivaSpeechSynthesisStub(vanishing).SynthesizeOnline(
                held_requests(release)
            ),
        ]
        deadline = time.monotonic() + 10
        while probe(direct) != FULL:
            assert time.monotonic() < deadline, "the held calls never got their slots"
            time.sleep(0.05)
        time.sleep(3)  # several keepalive rounds: a client that answers keeps its slots
        assert probe(direct) == FULL

        proxy.forwarding = False  # the client's host is gone; its connection stays open
        vanished = time.monotonic()
        while (codes := probe(direct)) != FREE:
            assert time.monotonic() - vanished < FREED_WITHIN_S, f"slots still held: {codes}"
            time.sleep(0.2)
    finally:
        release.set()
        for call in locals().get("held", []):
            call.cancel()
        vanishing.close()
        direct.close()
        proxy.close()
