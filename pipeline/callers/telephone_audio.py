"""Caller audio as the agent hears it: 20 ms frames at the pipeline's 16 kHz input rate.

In: int16 mono audio at 16 kHz (a wideband caller) or at 8 kHz (a phone line). Out: the list of
20 ms int16 frames (bytes) that the agent's input transport delivers at 16 kHz. Phone audio is
mu-law encoded and decoded (kernels/g711.py), then resampled 8 -> 16 kHz packet by packet with
Pipecat's stream resampler, as Pipecat's TwilioFrameSerializer does with each media event.
"""

import numpy as np
from pipecat.audio.utils import create_stream_resampler

from kernels.g711 import ulaw_decode, ulaw_encode
from pipeline.callers.line import LINE_RATE, PACKET_S, PIPELINE_RATE


def _chunks(audio: np.ndarray, rate: int) -> list[np.ndarray]:
    size = int(rate * PACKET_S)
    usable = len(audio) // size * size
    return [audio[i : i + size] for i in range(0, usable, size)]


def wideband_frames(audio: np.ndarray) -> list[bytes]:
    """16 kHz audio cut into the 20 ms frames a 16 kHz transport delivers."""
    return [chunk.tobytes() for chunk in _chunks(audio, PIPELINE_RATE)]


async def _resample_packets(packets: list[np.ndarray]) -> list[bytes]:
    # A live call never pauses the stream, so the resampler keeps its history throughout
    # (the serializer's clear-after-idle never fires); None says the same without a clock.
    resampler = create_stream_resampler(clear_after_secs=None)
    return [await resampler.resample(p.tobytes(), LINE_RATE, PIPELINE_RATE) for p in packets]


async def telephone_frames(audio: np.ndarray) -> list[bytes]:
    """8 kHz audio through G.711 mu-law and the Twilio serializer's resampling: 16 kHz frames,
    one per 20 ms packet (the resampler's first outputs are shorter: its filter delay)."""
    packets = [ulaw_decode(ulaw_encode(chunk)) for chunk in _chunks(audio, LINE_RATE)]
    return await _resample_packets(packets)


async def agent_frames(audio: np.ndarray, rate: int) -> list[bytes]:
    """Frames for audio rendered at `rate`: 16000 is wideband, 8000 is a G.711 phone line."""
    if rate == PIPELINE_RATE:
        return wideband_frames(audio)
    if rate == LINE_RATE:
        return await telephone_frames(audio)
    raise ValueError(f"caller audio must be {PIPELINE_RATE} or {LINE_RATE} Hz, not {rate}")
