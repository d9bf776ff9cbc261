"""PhoneMediaTransport in a real Pipecat pipeline over a real RtpLeg; a UDP socket is the phone.

Caller audio (8 kHz G.711) reaches the pipeline as 16 kHz InputAudioRawFrames, key presses as
InputDTMFFrames; the agent's 24 kHz audio reaches the phone as 8 kHz packets at the pace it
plays; an interruption silences the line at once; the line hanging up fires
on_client_disconnected, which ends the call."""

import asyncio
from collections.abc import Coroutine

import numpy as np
import pytest
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    EndFrame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    TTSStoppedFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineWorker
from pipecat.workers.runner import WorkerRunner
from test_speech_pipecat import Collector
from test_telephony_rtp import DTMF_PT, PCMU, Phone, level

from pipeline.telephony.dtmf_events import event_payload
from pipeline.telephony.media_transport import PhoneMediaTransport
from pipeline.telephony.rtp import RtpLeg
from pipeline.telephony.rtp_packet import decode_payload

IN_RATE, OUT_RATE = 16000, 24000


def tone(seconds: float, rate: int, amplitude: int = 8000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * 400 * t)).astype("<i2").tobytes()


def loud(packets: list) -> list[float]:
    """Arrival times of the packets that carry the agent's audio (not silence: RMS > 100)."""
    return [at for at, p in packets if rms(decode_payload("PCMU", p.payload)) > 100]


def rms(pcm: bytes) -> float:
    return float(np.sqrt(np.mean(np.frombuffer(pcm, "<i2").astype(float) ** 2)))


async def phone_call(
    frame_ms: int = 20,
) -> tuple[RtpLeg, Phone, PhoneMediaTransport, Collector, PipelineWorker]:
    """An RTP leg to a UDP phone, in a pipeline: transport in -> collector -> transport out."""
    leg = await RtpLeg.open("127.0.0.1", 33000, 33998)
    phone = Phone(leg)
    leg.start(phone.address, PCMU, DTMF_PT)
    transport = PhoneMediaTransport(leg, name="test-call", frame_ms=frame_ms)
    collector = Collector()
    worker = PipelineWorker(
        Pipeline([transport.input(), collector, transport.output()]),
        params=PipelineParams(audio_in_sample_rate=IN_RATE, audio_out_sample_rate=OUT_RATE),
        cancel_on_idle_timeout=False,
    )
    worker.started = asyncio.Event()

    @worker.event_handler("on_pipeline_started")
    async def _started(_worker: object, _frame: object) -> None:
        worker.started.set()

    return leg, phone, transport, collector, worker


async def run(worker: PipelineWorker, call: Coroutine) -> dict:
    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(worker)
    _, result = await asyncio.wait_for(asyncio.gather(runner.run(), call), 60)
    return result


async def test_audio_dtmf_pacing_interruption_and_hang_up() -> None:
    leg, phone, transport, collector, worker = await phone_call()
    hung_up = asyncio.Event()

    @transport.event_handler("on_client_disconnected")
    async def _gone(_transport: object, name: str) -> None:
        assert name == "test-call"
        hung_up.set()
        await worker.cancel()

    async def call() -> dict:
        await asyncio.wait_for(worker.started.wait(), 30)
        for seq in range(1, 51):  # 1 s of caller audio, then the # key
            phone.send(seq, level(4000))
        for i, end in enumerate([False, False, True, True, True]):
            phone.send(51 + i, event_payload(11, end, 160 * (i + 1)), DTMF_PT, ts=9000)
        await phone.receive(0.3)
        await worker.queue_frame(OutputAudioRawFrame(tone(1.0, OUT_RATE), OUT_RATE, 1))
        played = await phone.receive(1.6)
        await worker.queue_frame(OutputAudioRawFrame(tone(3.0, OUT_RATE), OUT_RATE, 1))
        before = await phone.receive(0.5)
        await worker.queue_frame(InterruptionFrame())
        await phone.receive(0.04)  # what the leg had already sent or was sending
        after = await phone.receive(0.5)
        await leg.close()  # the line hangs up
        await asyncio.wait_for(hung_up.wait(), 10)
        return {"played": played, "before": before, "after": after}

    result = await run(worker, call())
    phone.sock.close()

    audio = [f for f in collector.frames if isinstance(f, InputAudioRawFrame)]
    assert audio and {(f.sample_rate, f.num_channels) for f in audio} == {(IN_RATE, 1)}
    samples = np.frombuffer(b"".join(f.audio for f in audio), "<i2")
    voiced = samples[samples > 2000]  # then the line, quiet, plays silence
    assert 0.9 * IN_RATE <= len(voiced) <= 1.05 * IN_RATE  # 1 s of caller audio, resampled
    assert abs(np.median(voiced) - 4000) < 150
    keys = [f.button for f in collector.frames if isinstance(f, InputDTMFFrame)]
    assert keys == [KeypadEntry.POUND]
    key_at = next(i for i, f in enumerate(collector.frames) if isinstance(f, InputDTMFFrame))
    voiced_at = [i for i, f in enumerate(collector.frames) if f in audio and rms(f.audio) > 2000]
    assert max(voiced_at) < key_at  # the key comes after the audio sent before it

    played = loud(result["played"])
    assert 48 <= len(played) <= 52, len(played)  # 1 s of agent audio = 50 packets of 20 ms
    assert 0.85 <= played[-1] - played[0] <= 1.2  # played at the line's pace, not in a burst
    heard = np.frombuffer(b"".join(p.payload for _, p in result["played"]), np.uint8)
    assert len(heard) and loud(result["before"])  # the long answer was playing...
    assert len(loud(result["after"])) == 0  # ...and the interruption silenced it
    assert len(result["after"]) >= 20  # the line itself goes on (silence)


async def test_caller_audio_in_longer_frames_and_a_partial_one_after_a_gap() -> None:
    leg, phone, transport, collector, worker = await phone_call(frame_ms=40)

    def caller_audio() -> list[bytes]:
        return [f.audio for f in collector.frames if isinstance(f, InputAudioRawFrame)]

    async def call() -> list[bytes]:
        await asyncio.wait_for(worker.started.wait(), 30)
        for seq in range(1, 52):  # 1.02 s of caller audio, then nothing
            phone.send(seq, level(4000))
        await asyncio.sleep(0.5)
        await worker.cancel()
        return caller_audio()

    frames = await run(worker, call())
    await leg.close()
    phone.sock.close()
    frame_bytes = 2 * IN_RATE * 40 // 1000
    # 50 packets two a frame; the 51st alone once no packet followed within 30 ms; then
    # (from 100 ms after the last packet) the silence the quiet line plays, in whole frames.
    assert [len(f) for f in frames[:26]] == [frame_bytes] * 25 + [frame_bytes // 2]
    assert len(frames) > 26 and not any(np.frombuffer(b"".join(frames[28:]), "<i2"))


def test_frames_are_whole_packets() -> None:
    with pytest.raises(ValueError, match="multiple of 20 ms"):
        PhoneMediaTransport(object(), name="x", frame_ms=30)


async def test_each_utterance_plays_to_its_end_and_ending_the_call_closes_the_leg() -> None:
    leg, phone, _, _, worker = await phone_call()
    utterance = OutputAudioRawFrame(tone(0.6, OUT_RATE), OUT_RATE, 1)

    async def two_utterances() -> tuple[list, list]:
        await asyncio.wait_for(worker.started.wait(), 30)
        await phone.receive(0.2)
        await worker.queue_frames([utterance, TTSStoppedFrame()])
        first = await phone.receive(1.2)  # then quiet: the resampler's tail must not be lost
        await worker.queue_frames([utterance, EndFrame()])  # goodbye, and the agent hangs up
        return first, await phone.receive(1.5)

    first, last = await run(worker, two_utterances())
    phone.sock.close()
    for packets in (first, last):
        assert 29 <= len(loud(packets)) <= 31, len(loud(packets))  # all 0.6 s of it played
    assert await asyncio.wait_for(leg.read(), 1) is None  # the leg was closed
    assert last[-1][0] - loud(last)[-1] < 0.1  # right after the last words
