"""Many calls at once: concurrent streams share the models and all finish correctly; past
`max_streams` the server refuses at once; a client that cancels gives its slot back; ASR
and TTS have a pool each, so calls holding every ASR stream never leave the bot mute."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
import riva.client
from speech_audio import CALL_CENTER_SENTENCES, silence, synthesize, word_error_rate
from speech_riva_client import final_text, recognition_config, services, stream
from speech_server_fixture import speech_server  # noqa: F401

RATE = 16000
TIMEOUT_S = 120
VOICE = "English-US.Male-Joe"


@pytest.fixture(scope="module")
def asr(speech_server):  # noqa: F811
    return services(speech_server.address)[0]


@pytest.fixture(scope="module")
def tts(speech_server):  # noqa: F811
    return services(speech_server.address)[1]


class HeldStream:
    """A StreamingRecognize call that stays open (sending silence) until released."""

    def __init__(self, asr: riva.client.ASRService, speech: bytes = b"") -> None:
        self.release = threading.Event()
        self.error: grpc.StatusCode | None = None
        self.call = None
        self._speech = speech
        self._asr = asr
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _audio(self):
        for start in range(0, len(self._speech), 3200):
            yield self._speech[start : start + 3200]
        while not self.release.wait(0.1):
            yield bytes(3200)

    def _run(self) -> None:
        config = riva.client.StreamingRecognitionConfig(config=recognition_config())
        requests = riva.client.asr.streaming_request_generator(self._audio(), config)
        self.call = self._asr.stub.StreamingRecognize(requests)
        try:
            for _ in self.call:
                pass
        except grpc.RpcError as exc:
            self.error = exc.code()

    def finish(self) -> None:
        self.release.set()
        self._thread.join(TIMEOUT_S)


def refused_within(asr, seconds: float) -> float | None:
    """Poll with empty Recognize calls until one is RESOURCE_EXHAUSTED; how long it took."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            asr.offline_recognize(b"", recognition_config())
        except grpc.RpcError as exc:
            assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, exc.details()
            assert "max_streams" in exc.details()
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def test_eight_concurrent_streams_all_finish_correctly(asr):
    sentences = [CALL_CENTER_SENTENCES[i % len(CALL_CENTER_SENTENCES)] for i in range(8)]
    audio = {s: synthesize(s, RATE).tobytes() + silence(1.0).tobytes() for s in set(sentences)}
    start = threading.Barrier(len(sentences))

    def recognize(sentence: str) -> str:
        start.wait()
        return final_text(stream(asr, audio[sentence], interim=True))

    with ThreadPoolExecutor(len(sentences)) as pool:
        heard = list(pool.map(recognize, sentences, timeout=TIMEOUT_S))
    assert all(heard), heard
    assert word_error_rate(sentences, heard) <= 0.10, list(zip(sentences, heard, strict=True))


def hold_every_slot(asr, slots: int) -> bool:
    """Open `slots` streams: True when all of them are served and one more is refused."""
    held = [HeldStream(asr) for _ in range(slots)]
    try:
        refused = refused_within(asr, 10.0) is not None
    finally:
        for stream_ in held:
            stream_.finish()
    return refused and all(s.error is None for s in held)


def test_saturated_server_refuses_at_once_then_recovers(speech_server, asr):  # noqa: F811
    held = [HeldStream(asr) for _ in range(speech_server.max_streams)]
    try:
        took = refused_within(asr, 10.0)
        assert took is not None, f"a call beyond max_streams was served: {[s.error for s in held]}"
        assert took < 1.0, f"refusal took {took:.2f} s"
    finally:
        for stream_ in held:
            stream_.finish()
    assert [s.error for s in held] == [None] * len(held)  # all held streams were served
    asr.offline_recognize(b"", recognition_config())  # and there is room again


def test_cancelled_streams_give_their_slots_back(speech_server, asr):  # noqa: F811
    speech = synthesize(CALL_CENTER_SENTENCES[0], RATE).tobytes()
    streams = [HeldStream(asr, speech) for _ in range(speech_server.max_streams)]
    assert refused_within(asr, 10.0) is not None  # every slot is taken
    time.sleep(0.5)  # let the server get busy with the speech
    for stream_ in streams:
        stream_.call.cancel()
    for stream_ in streams:
        stream_.finish()
    assert {s.error for s in streams} == {grpc.StatusCode.CANCELLED}
    # every slot comes back: a full set of new streams is served and one more is refused
    deadline = time.monotonic() + 30
    while not hold_every_slot(asr, speech_server.max_streams):
        assert time.monotonic() < deadline, "cancelled streams still hold their slots"
        time.sleep(0.5)


class HeldSynthesis:
    """A SynthesizeOnline call that stays open (asking for nothing) until released."""

    def __init__(self, tts: riva.client.SpeechSynthesisService) -> None:
        self.release = threading.Event()
        self.call = tts.stub.SynthesizeOnline(self._requests())

    def _requests(self):
        self.release.wait(TIMEOUT_S)
        yield from ()

    def finish(self) -> None:
        self.release.set()
        self.call.cancel()


def test_tts_is_served_while_every_asr_stream_is_held(speech_server, asr, tts):  # noqa: F811
    held = [HeldStream(asr) for _ in range(speech_server.max_streams)]
    try:
        assert refused_within(asr, 10.0) is not None  # every ASR stream is taken
        spoken = tts.synthesize("Your order has shipped.", VOICE, sample_rate_hz=RATE)
        assert len(spoken.audio) > RATE  # over half a second of 16-bit audio
    finally:
        for stream_ in held:
            stream_.finish()
    assert [s.error for s in held] == [None] * len(held)


def test_tts_beyond_its_pool_is_refused_naming_its_setting(speech_server, asr, tts):  # noqa: F811
    held = [HeldSynthesis(tts) for _ in range(speech_server.max_tts_streams)]
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                tts.synthesize("Hello.", VOICE, sample_rate_hz=RATE)
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, exc.details()
                assert "max_tts_streams" in exc.details()
                break
            assert time.monotonic() < deadline, "a synthesis beyond max_tts_streams was served"
            time.sleep(0.05)
        asr.offline_recognize(b"", recognition_config())  # ASR has its own pool
    finally:
        for synthesis in held:
            synthesis.finish()
    tts.synthesize("Hello.", VOICE, sample_rate_hz=RATE)  # and TTS has room again
