"""The caller-audio upsampler: a 20 ms packet in gives 20 ms out at once, the same audio
as soxr's offline VHQ resampling, and the Twilio serializer uses it."""

import asyncio
import base64
import json

import numpy as np
import soxr
from pipecat.frames.frames import InputAudioRawFrame

from kernels.g711 import ulaw_encode
from pipeline.telephony.line_upsampler import TAPS_PER_PHASE, LineUpsampler
from pipeline.telephony.twilio_serializer import PromptTwilioSerializer

PACKET = 160  # 20 ms at 8 kHz


def _two_tones(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(8000 * seconds)) / 8000
    tones = 8000 * np.sin(2 * np.pi * 1000 * t) + 3000 * np.sin(2 * np.pi * 3100 * t)
    return tones.astype(np.int16)


def _upsample_in_packets(audio: np.ndarray) -> list[bytes]:
    async def run() -> list[bytes]:
        upsampler = LineUpsampler()
        chunks = range(0, len(audio), PACKET)
        return [
            await upsampler.resample(audio[i : i + PACKET].tobytes(), 8000, 16000) for i in chunks
        ]

    return asyncio.run(run())


def test_every_packet_comes_out_whole_at_once() -> None:
    outs = _upsample_in_packets(_two_tones())
    assert {len(out) for out in outs} == {2 * PACKET * 2}  # 320 int16 samples each


def test_it_matches_soxr_offline_resampling_after_its_short_delay() -> None:
    audio = _two_tones()
    ours = np.frombuffer(b"".join(_upsample_in_packets(audio)), np.int16).astype(float)
    reference = soxr.resample(audio.astype(np.float32), 8000, 16000, quality="VHQ")
    delay = TAPS_PER_PHASE  # half of the 97-tap filter, in 16 kHz samples (3 ms)
    ours, reference = ours[delay + 1000 : -1000], reference[1000 : len(ours) - 1000 - delay + 1000]
    reference = reference[: len(ours)]
    noise = np.mean((ours - reference) ** 2)
    assert 10 * np.log10(np.mean(reference**2) / noise) > 50  # dB


def test_chunking_does_not_change_the_audio() -> None:
    audio = _two_tones(0.5)
    packets = b"".join(_upsample_in_packets(audio))

    async def whole() -> bytes:
        return await LineUpsampler().resample(audio.tobytes(), 8000, 16000)

    assert np.array_equal(
        np.frombuffer(packets, np.int16), np.frombuffer(asyncio.run(whole()), np.int16)
    )


def test_rates_that_are_no_whole_multiple_fall_back_to_the_stream_resampler() -> None:
    async def run() -> int:
        upsampler, audio, produced = LineUpsampler(), _two_tones(1.0).tobytes(), 0
        for i in range(0, len(audio), 2 * PACKET):
            produced += len(await upsampler.resample(audio[i : i + 2 * PACKET], 8000, 22050))
        return produced

    produced = asyncio.run(run())  # soxr holds its last block back
    assert 0.8 * 22050 * 2 < produced <= 22050 * 2


def test_the_twilio_serializer_hands_on_each_media_event_at_once() -> None:
    serializer = PromptTwilioSerializer(
        stream_sid="MZ1", params=PromptTwilioSerializer.InputParams(auto_hang_up=False)
    )
    payload = base64.b64encode(ulaw_encode(_two_tones(0.02)).tobytes()).decode()
    event = json.dumps({"event": "media", "streamSid": "MZ1", "media": {"payload": payload}})

    async def run() -> object:
        from pipecat.frames.frames import StartFrame

        await serializer.setup(StartFrame(audio_in_sample_rate=16000))
        return await serializer.deserialize(event)

    frame = asyncio.run(run())
    assert isinstance(frame, InputAudioRawFrame)
    assert (frame.sample_rate, len(frame.audio)) == (16000, 640)
