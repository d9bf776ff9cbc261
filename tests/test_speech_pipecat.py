"""Pipecat's own NvidiaTTSService and NvidiaSTTService (use_ssl=False) against a live
`switchboard speech-server`, configured from our settings as the agent configures them."""

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pytest
from pipecat.frames.frames import (
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InterimTranscriptionFrame,
    TranscriptionFrame,
    TTSAudioRawFrame,
    TTSSpeakFrame,
    TTSStoppedFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.services.nvidia.stt import NvidiaSTTService
from pipecat.services.nvidia.tts import NvidiaTTSService
from pipecat.tests.utils import SleepFrame
from pipecat.workers.runner import WorkerRunner
from speech_audio import (
    BECKETT_TEXT,
    CALL_CENTER_SENTENCES,
    beckett,
    silence,
    word_error_rate,
)
from speech_server_fixture import speech_server  # noqa: F401

from pipeline.settings import load_settings

RATE = 16000
CHUNK = RATE // 50  # 20 ms, as a transport delivers it
TIMEOUT_S = 120
Service = TypeVar("Service", NvidiaTTSService, NvidiaSTTService)


class Collector(FrameProcessor):
    """Keeps every frame that reaches the end of the pipeline."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: list[Frame] = []

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if direction == FrameDirection.DOWNSTREAM:
            self.frames.append(frame)
        await self.push_frame(frame, direction)


async def run_service(
    service: FrameProcessor, frames: list[Frame], done: Callable[[list[Frame]], bool]
) -> list[Frame]:
    """Run `service` in a pipeline, send `frames`, and stop once `done(received)` holds."""
    collector = Collector()
    worker = PipelineWorker(
        Pipeline([service, collector]),
        params=PipelineParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE),
        cancel_on_idle_timeout=False,
    )
    started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def _started(_worker, _frame) -> None:
        started.set()

    async def drive() -> None:
        await asyncio.wait_for(started.wait(), timeout=30)
        for frame in frames:
            if isinstance(frame, SleepFrame):
                await asyncio.sleep(frame.sleep)
            else:
                await worker.queue_frame(frame)
        deadline = time.monotonic() + TIMEOUT_S
        while not done(collector.frames) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await worker.queue_frame(EndFrame())

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    await asyncio.gather(runner.run(), drive())
    return collector.frames


def nvidia_service(cls: type[Service], address: str, **options: Any) -> Service:
    """Pipecat's `cls` reaching the speech server at `address` without TLS, at RATE, with
    `options` on top."""
    return cls(server=address, use_ssl=False, sample_rate=RATE, **options)


def tts_service(address: str) -> NvidiaTTSService:
    """Pipecat's TTS service speaking in our settings' tts.voice and tts.language."""
    tts = load_settings().tts
    settings = NvidiaTTSService.Settings(voice=tts.voice, language=tts.language)
    return nvidia_service(NvidiaTTSService, address, settings=settings)


def stt_service(address: str) -> NvidiaSTTService:
    """Pipecat's STT service asking for our settings' asr.model."""
    model_function_map = {"function_id": "", "model_name": load_settings().asr.model}
    return nvidia_service(NvidiaSTTService, address, model_function_map=model_function_map)


def audio_frames(audio: np.ndarray) -> list[Frame]:
    data = audio.astype(np.int16).tobytes()
    step = CHUNK * 2
    return [
        InputAudioRawFrame(audio=data[i : i + step], sample_rate=RATE, num_channels=1)
        for i in range(0, len(data), step)
    ]


def finals(frames: list[Frame]) -> str:
    return " ".join(f.text for f in frames if isinstance(f, TranscriptionFrame))


@pytest.fixture(scope="module")
def pipecat_speech(speech_server) -> dict[str, np.ndarray]:  # noqa: F811
    """Each call-center sentence spoken by Pipecat's NvidiaTTSService, as int16 at 16 kHz."""
    frames = asyncio.run(
        run_service(
            tts_service(speech_server.address),
            [TTSSpeakFrame(text) for text in CALL_CENTER_SENTENCES],
            done=lambda got: _stopped(got) == len(CALL_CENTER_SENTENCES),
        )
    )
    by_context: dict[str, list[bytes]] = {}
    for frame in _audio(frames):
        by_context.setdefault(frame.context_id, []).append(frame.audio)
    spoken = [np.frombuffer(b"".join(parts), dtype=np.int16) for parts in by_context.values()]
    return dict(zip(CALL_CENTER_SENTENCES, spoken, strict=True))


def _audio(frames: list[Frame]) -> list[TTSAudioRawFrame]:
    return [f for f in frames if isinstance(f, TTSAudioRawFrame)]


def _stopped(frames: list[Frame]) -> int:
    return sum(isinstance(f, TTSStoppedFrame) for f in frames)


def test_pipecat_tts_speaks_each_sentence(pipecat_speech):
    for text, audio in pipecat_speech.items():
        seconds = len(audio) / RATE
        assert 1.0 < seconds < 10.0, (text, seconds)
        assert np.abs(audio).max() > 1000, "silence instead of speech"


def test_pipecat_tts_to_pipecat_stt_word_error_rate(speech_server, pipecat_speech):  # noqa: F811
    """The sentences Pipecat's TTS spoke, back through Pipecat's streaming STT."""
    audio = np.concatenate([np.concatenate([a, silence(1.0)]) for a in pipecat_speech.values()])
    reference = " ".join(pipecat_speech)
    frames = asyncio.run(
        run_service(
            stt_service(speech_server.address),
            audio_frames(audio),
            done=lambda got: word_error_rate([reference], [finals(got)]) <= 0.10,
        )
    )
    assert word_error_rate([reference], [finals(frames)]) <= 0.10, finals(frames)


def test_pipecat_stt_hears_a_human_in_real_time(speech_server):  # noqa: F811
    """beckett.wav fed at the pace of a call: interim results while speaking, then finals."""
    audio, rate = beckett()
    assert rate == RATE
    got = asyncio.run(
        run_service(
            stt_service(speech_server.address),
            _paced(audio_frames(np.concatenate([audio, silence(1.0)]))),
            done=lambda got: word_error_rate([BECKETT_TEXT], [finals(got)]) <= 0.15,
        )
    )
    assert word_error_rate([BECKETT_TEXT], [finals(got)]) <= 0.15, finals(got)
    assert any(isinstance(f, InterimTranscriptionFrame) for f in got), "no interim results"


def _paced(frames: list[Frame]) -> list[Frame]:
    out: list[Frame] = []
    for i, frame in enumerate(frames):
        out.append(frame)
        if i % 5 == 4:  # every 100 ms of audio
            out.append(SleepFrame(sleep=0.1))
    return out
