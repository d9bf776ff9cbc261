"""A Pipecat transport over one `CallMedia` leg (RTP or AudioSocket).

In: the leg's caller audio (8 kHz PCM), grouped into frames of whole packets
(pipeline/telephony/packet_grouper.py), upsampled frame by frame to the pipeline's input
rate (pipeline/telephony/line_upsampler.py) and pushed as InputAudioRawFrame; its key
presses as InputDTMFFrame. Out: the agent's OutputAudioRawFrame, resampled to 8 kHz and
written to the leg at the pace it plays (a short lead, so barge-in cuts little); an
interruption clears what the leg still has queued. When the leg ends (`read()` gives None)
the transport fires "on_client_disconnected"; the call glue ends the call. Each utterance
ends with the resampler's held-back tail (flushed at TTSStoppedFrame). When the pipeline
ends (EndFrame) the leg is closed once the agent's last audio has played; when it is
cancelled, at once.
"""

import asyncio
import logging
import time

from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.audio.utils import create_stream_resampler
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    StartFrame,
    TTSStoppedFrame,
)
from pipecat.processors.frame_processor import FrameDirection
from pipecat.transports.base_input import BaseInputTransport
from pipecat.transports.base_output import BaseOutputTransport
from pipecat.transports.base_transport import BaseTransport, TransportParams

from pipeline.telephony.call_media import LINE_RATE, PACKET_BYTES, CallMedia, Dtmf
from pipeline.telephony.line_upsampler import LineUpsampler
from pipeline.telephony.packet_grouper import PacketGrouper

log = logging.getLogger(__name__)

LEAD_S = 0.1  # how far ahead of the line the agent's audio may be written
DRAIN_MARGIN_S = 0.06  # the leg's pacer may run a packet or two behind our clock
PACKET_GAP_S = 0.03  # no packet this long (20 ms apart, plus jitter): send a partial frame


class PhoneMediaInput(BaseInputTransport):
    def __init__(
        self, transport: "PhoneMediaTransport", params: TransportParams, frame_ms: int, **kwargs
    ):
        super().__init__(params, **kwargs)
        self._transport = transport
        self._resampler = LineUpsampler()  # a frame in, a frame out: no 95 ms blocks
        frame_bytes = PACKET_BYTES * frame_ms // 20
        self._frames = PacketGrouper(frame_bytes, PACKET_GAP_S, self._push_line_audio)
        self._reader: asyncio.Task | None = None

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        if self._reader is None:
            self._reader = self.create_task(self._read_leg())
        await self.set_transport_ready(frame)

    async def stop(self, frame: EndFrame) -> None:
        await super().stop(frame)
        await self._stop_reading()  # the output closes the leg once its last words have played

    async def cancel(self, frame: CancelFrame) -> None:
        await super().cancel(frame)
        await self._stop_reading()
        await self._transport.media.close()

    async def _stop_reading(self) -> None:
        if self._reader is not None:
            await self.cancel_task(self._reader)
            self._reader = None
        self._frames.drop()

    async def _read_leg(self) -> None:
        media = self._transport.media
        while (item := await media.read()) is not None:
            if isinstance(item, Dtmf):
                await self._frames.flush()
                await self._push_dtmf(item)
            else:
                await self._frames.add(item)
        await self._frames.flush()
        log.info("%s: the line hung up", self._transport.name)
        await self._transport.disconnected()

    async def _push_line_audio(self, pcm: bytes) -> None:
        audio = await self._resampler.resample(pcm, LINE_RATE, self.sample_rate)
        if audio:
            await self.push_audio_frame(InputAudioRawFrame(audio, self.sample_rate, 1))

    async def push_audio_frame(self, frame: InputAudioRawFrame) -> None:
        """Push the caller's audio on from the leg's reader task. Pipecat's input transport
        queues it for a task of its own, which applies the audio filter (none here) and pushes
        it on: the same frames in the same order, without a queue hop and a timed wait per
        frame (and in order with the key presses, which the reader pushes itself)."""
        if self._params.audio_in_enabled and not self._paused:
            await self.push_frame(frame)

    async def _push_dtmf(self, dtmf: Dtmf) -> None:
        try:
            button = KeypadEntry(dtmf.digit)
        except ValueError:
            log.info("%s: key %s has no Pipecat keypad entry; ignored", self.name, dtmf.digit)
            return
        await self.push_frame(InputDTMFFrame(button=button))


class PhoneMediaOutput(BaseOutputTransport):
    def __init__(self, transport: "PhoneMediaTransport", params: TransportParams, **kwargs):
        super().__init__(params, **kwargs)
        self._transport = transport
        self._resampler = create_stream_resampler()
        self._line_free_at = 0.0  # time.monotonic() when the leg will have played what it has

    async def start(self, frame: StartFrame) -> None:
        await super().start(frame)
        await self.set_transport_ready(frame)

    async def stop(self, frame: EndFrame) -> None:
        """The agent ended the call: let the line play what it has, then close the leg."""
        await super().stop(frame)
        await self._play(await self._resampler.flush())  # the resampler's last ~50 ms
        await asyncio.sleep(max(0.0, self._line_free_at + DRAIN_MARGIN_S - time.monotonic()))
        await self._transport.media.close()

    async def cancel(self, frame: CancelFrame) -> None:
        await super().cancel(frame)
        await self._transport.media.close()

    async def push_frame(
        self, frame: Frame, direction: FrameDirection = FrameDirection.DOWNSTREAM
    ) -> None:
        if isinstance(frame, TTSStoppedFrame):  # comes after the utterance's audio was written
            await self._play(await self._resampler.flush())  # its last ~50 ms
        await super().push_frame(frame, direction)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InterruptionFrame):
            self._transport.media.clear()
            self._line_free_at = 0.0

    async def write_audio_frame(self, frame: OutputAudioRawFrame) -> bool:
        await self._play(await self._resampler.resample(frame.audio, frame.sample_rate, LINE_RATE))
        return True

    async def _play(self, pcm: bytes) -> None:
        """Write 8 kHz `pcm` to the leg; return when the line is at most LEAD_S behind."""
        await self._transport.media.write(pcm)
        now = time.monotonic()
        self._line_free_at = max(self._line_free_at, now) + len(pcm) / (2 * LINE_RATE)
        ahead = self._line_free_at - now
        if ahead > LEAD_S:
            await asyncio.sleep(ahead - LEAD_S)


class PhoneMediaTransport(BaseTransport):
    """One call's leg as a Pipecat transport; events: on_client_disconnected(transport, name).
    The caller's audio reaches the pipeline in frames of `frame_ms` (whole 20 ms packets)."""

    def __init__(self, media: CallMedia, name: str, frame_ms: int = 20) -> None:
        if frame_ms <= 0 or frame_ms % 20:
            raise ValueError(f"frame_ms must be a positive multiple of 20 ms, not {frame_ms}")
        super().__init__(name=name, input_name=f"{name}-in", output_name=f"{name}-out")
        self.media = media
        params = TransportParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            audio_out_end_silence_secs=0,  # hang up right after the last words, not 2 s later
        )  # no audio_in_filter: PhoneMediaInput pushes the caller's audio on itself
        self._input = PhoneMediaInput(self, params, frame_ms, name=self._input_name)
        self._output = PhoneMediaOutput(self, params, name=self._output_name)
        self._register_event_handler("on_client_disconnected")

    def input(self) -> PhoneMediaInput:
        return self._input

    def output(self) -> PhoneMediaOutput:
        return self._output

    async def disconnected(self) -> None:
        await self._call_event_handler("on_client_disconnected", self.name)
