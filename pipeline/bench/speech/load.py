"""Load for `switchboard bench speech`: a speech server to measure, and the measurements.

In: a Riva-compatible address (ours, started here as its own process, or any Riva). Out: plain
dicts of figures: ASR and TTS real-time factors over gRPC, and simulated calls that stream
speech in real time, with the delay from the end of each sentence to its final transcript.
"""

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import grpc
import psutil
import riva.client
from grpc_health.v1 import health_pb2, health_pb2_grpc

from pipeline.bench.localhost import free_port
from pipeline.callers.line import PIPELINE_RATE
from pipeline.callers.voice import CALL_CENTER_SENTENCES

CHUNK_S = 0.1  # callers send 100 ms of audio at a time
GAP_S = 1.2  # silence after each sentence of a call
STOP_HISTORY_MS = 320  # Pipecat's NvidiaSTTService default endpointing


@contextlib.contextmanager
def own_server(max_streams: int, timeout_s: float = 300) -> Iterator[tuple[str, int]]:
    """`switchboard speech-server` on a free local port, SERVING; yields (address, pid)."""
    port = free_port()
    command = [sys.executable, "-m", "pipeline.cli", "speech-server", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--max-streams", str(max_streams)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"127.0.0.1:{port}"
    try:
        wait_serving(address, process, timeout_s)
        yield address, process.pid
    finally:
        process.terminate()
        process.wait(30)


def wait_serving(address: str, process: subprocess.Popen | None, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"speech-server exited with status {process.returncode}")
            with contextlib.suppress(grpc.RpcError):
                status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            time.sleep(0.2)
    raise TimeoutError(f"{address} did not become SERVING in {timeout_s:.0f} s")


def clients(address: str) -> tuple[riva.client.ASRService, riva.client.SpeechSynthesisService]:
    auth = riva.client.Auth(uri=address, use_ssl=False)
    return riva.client.ASRService(auth), riva.client.SpeechSynthesisService(auth)


def tts_figures(address: str, voice: str, server_pid: int | None) -> tuple[dict, list[bytes]]:
    """Synthesize every sentence (16 kHz PCM): real-time factor and first-chunk delay.

    Also returns the audio, which the ASR measurements then use as caller speech."""
    _, tts = clients(address)
    with _busy(server_pid) as busy:
        audio = [
            tts.synthesize(text, voice, sample_rate_hz=PIPELINE_RATE).audio
            for text in CALL_CENTER_SENTENCES
        ]
    first_chunk_s = []
    for text in CALL_CENTER_SENTENCES:
        started = time.perf_counter()
        next(iter(tts.synthesize_online(f"{text} {text}", voice, sample_rate_hz=PIPELINE_RATE)))
        first_chunk_s.append(time.perf_counter() - started)
    figures = _factors(busy, sum(len(a) for a in audio) / 2 / PIPELINE_RATE)
    return figures | {"first_chunk_s": first_chunk_s}, audio


def asr_figures(address: str, audio: list[bytes], server_pid: int | None) -> dict:
    """Offline Recognize of each sentence, one at a time: real-time factor."""
    asr, _ = clients(address)
    config = riva.client.RecognitionConfig(
        encoding=riva.client.AudioEncoding.LINEAR_PCM,
        sample_rate_hertz=PIPELINE_RATE,
        language_code="en-US",
    )
    with _busy(server_pid) as busy:
        for clip in audio:
            asr.offline_recognize(clip, config)
    return _factors(busy, sum(len(a) for a in audio) / 2 / PIPELINE_RATE)


@contextlib.contextmanager
def _busy(server_pid: int | None) -> Iterator[dict]:
    """Wall and server CPU seconds spent inside the block."""
    server = psutil.Process(server_pid) if server_pid else None
    spent: dict = {}
    cpu, wall = _cpu_s(server), time.perf_counter()
    yield spent
    spent["wall_s"] = time.perf_counter() - wall
    spent["cpu_s"] = _cpu_s(server) - cpu if server else None


def _factors(busy: dict, audio_s: float) -> dict:
    """Real-time factors: wall seconds, and server CPU seconds, per second of audio."""
    cpu_rtf = busy["cpu_s"] / audio_s if busy["cpu_s"] is not None else None
    return {"rtf": busy["wall_s"] / audio_s, "cpu_rtf": cpu_rtf, "audio_s": audio_s}


def calls(
    address: str, audio: list[bytes], streams: int, sentences: int, server_pid: int | None = None
) -> dict:
    """`streams` callers at once, each saying `sentences` sentences in real time.

    With the server's pid, also the CPU it used: seconds of CPU per second of one call."""
    results: list[dict] = [{} for _ in range(streams)]
    start = threading.Barrier(streams)

    def caller(index: int) -> None:
        said = [audio[(index + k) % len(audio)] for k in range(sentences)]
        start.wait()
        results[index] = one_call(address, said)

    server = psutil.Process(server_pid) if server_pid else None
    cpu_before, started = _cpu_s(server), time.monotonic()
    threads = [threading.Thread(target=caller, args=(i,)) for i in range(streams)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    call_s = (time.monotonic() - started) * streams
    return {
        "cpu_per_call": (_cpu_s(server) - cpu_before) / call_s if server else None,
        "delays_s": [d for r in results for d in r["delays_s"]],
        "errors": [r["error"] for r in results if r["error"]],
        "interims": sum(r["interims"] for r in results),
    }


def one_call(address: str, said: list[bytes]) -> dict:
    """Stream one call paced like a phone line; per sentence, end of speech -> final result."""
    asr, _ = clients(address)
    config = riva.client.StreamingRecognitionConfig(
        config=riva.client.RecognitionConfig(
            encoding=riva.client.AudioEncoding.LINEAR_PCM,
            sample_rate_hertz=PIPELINE_RATE,
            language_code="en-US",
            endpointing_config=riva.client.EndpointingConfig(stop_history=STOP_HISTORY_MS),
        ),
        interim_results=True,
    )
    ends: list[float] = []  # when each sentence's last audio went out
    chunk_bytes = int(CHUNK_S * PIPELINE_RATE) * 2
    gap = bytes(int(GAP_S * PIPELINE_RATE) * 2)

    def paced() -> Iterator[bytes]:
        due = time.monotonic()
        for clip in said:
            for audio, is_speech in ((clip, True), (gap, False)):
                for piece in _pieces(audio, chunk_bytes):
                    due += CHUNK_S
                    time.sleep(max(0.0, due - time.monotonic()))
                    yield piece
                if is_speech:
                    ends.append(time.monotonic())

    finals: list[float] = []
    interims, error = 0, None
    try:
        for response in asr.streaming_response_generator(paced(), config):
            for result in response.results:
                if result.is_final:
                    finals.append(time.monotonic())
                else:
                    interims += 1
    except grpc.RpcError as exc:
        error = f"{exc.code().name}: {exc.details()}"
    if len(finals) == len(ends):  # one final per sentence, in order
        delays = [final - end for final, end in zip(finals, ends, strict=True)]
    else:  # endpointing split or merged sentences: the first final after each end
        delays = [min([t - end for t in finals if t >= end], default=float("inf")) for end in ends]
    return {"delays_s": delays, "error": error, "interims": interims}


def _cpu_s(process: psutil.Process | None) -> float:
    if process is None:
        return 0.0
    times = process.cpu_times()
    return times.user + times.system


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]
