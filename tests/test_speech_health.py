"""Health follows model loading: NOT_SERVING (and Riva calls UNAVAILABLE) until the models
are loaded, SERVING after; a failed load never claims SERVING. Runs the real server on a
real port with the model loading replaced, so it needs no models."""

import threading

import grpc
import pytest
import riva.client
from riva.client.proto import riva_asr_pb2 as rasr
from speech_server_fixture import free_port, health_status

from pipeline.settings import SpeechServerSettings
from pipeline.speech import server as speech_server_module
from pipeline.speech.engines import Engines


@pytest.fixture
def gated_load(monkeypatch):
    """Model loading waits for `gate`, then fails or 'loads' (a stand-in) as told."""
    gate = threading.Event()
    outcome: dict[str, bool] = {"fail": False}

    def load(self: Engines, settings: SpeechServerSettings):
        gate.wait(30)
        if outcome["fail"]:
            raise RuntimeError("model file is damaged")
        self._loaded = object()  # stands in for the loaded models
        return self._loaded

    monkeypatch.setattr(Engines, "load", load)
    return gate, outcome


def start_server():
    return speech_server_module.start(SpeechServerSettings(port=free_port()))


def test_not_serving_until_loaded_then_serving(gated_load):
    gate, _ = gated_load
    running = start_server()
    address = f"127.0.0.1:{running.port}"
    try:
        assert health_status(address) == "NOT_SERVING"
        asr = riva.client.ASRService(riva.client.Auth(uri=address))
        with pytest.raises(grpc.RpcError) as failure:
            asr.stub.GetRivaSpeechRecognitionConfig(rasr.RivaSpeechRecognitionConfigRequest())
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "loading" in failure.value.details()
        gate.set()
        running.loader.join(10)
        assert health_status(address) == "SERVING"
        assert health_status(address, "nvidia.riva.tts.RivaSpeechSynthesis") == "SERVING"
    finally:
        gate.set()
        running.stop(grace=0)


def test_a_failed_load_stays_not_serving(gated_load):
    gate, outcome = gated_load
    outcome["fail"] = True
    running = start_server()
    try:
        gate.set()
        running.loader.join(10)
        assert health_status(f"127.0.0.1:{running.port}") == "NOT_SERVING"
    finally:
        running.stop(grace=0)
