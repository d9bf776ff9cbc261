"""How late the agent processes the caller's audio, against the call's own audio clock.

In: the frames of one call, downstream. Out: the same frames, unchanged (with `ends_audio`,
all but the caller's audio); for every caller audio frame an observation in
switchboard_agent_frame_lag_seconds.

A caller's line delivers audio in real time, so the n-th second of audio cannot arrive
before the call's start plus n seconds. The lag of a frame is how far past that moment it
is processed here. The start is the earliest consistent one: min over frames of
(arrival - audio seconds before it), so a late first frame does not hide later lag. The
caller's line must deliver whole packets without gaps (phones and our jitter buffer do): a
missing stretch of audio would read as lag for the rest of the call.

It sits right after the user aggregator: by then the frame has passed the transport, STT's
queue and the aggregator's VAD and turn analysis, so a late frame here is a late turn
decision, which is what callers notice. Frames the aggregator holds back (a muted caller)
are not measured.

With `ends_audio`, the caller's audio goes no further: in the agent's pipeline nothing after
the user aggregator reads it (person requests, tool hints, the LLM, TTS, the output transport
and the assistant aggregator handle text, DTMF and the agent's own audio), and each further
processor would cost a queue hop and an observer event per 20 ms frame. The meter runs in
Pipecat's direct mode (each frame handled in the pusher's task, no queue and task of its own):
it only reads a clock and passes frames on.
"""

import time

from pipecat.frames.frames import Frame, InputAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from prometheus_client import Histogram

from pipeline.agent.metrics import FRAME_LAG


class FrameLagMeter(FrameProcessor):
    """Measures each InputAudioRawFrame's lag and passes every frame on (with `ends_audio`,
    every frame but those)."""

    def __init__(
        self, histogram: Histogram = FRAME_LAG, *, ends_audio: bool = False, **kwargs: object
    ) -> None:
        super().__init__(enable_direct_mode=True, **kwargs)
        self._histogram = histogram
        self._ends_audio = ends_audio
        self._audio_s = 0.0  # caller audio seen before the current frame
        self._start: float | None = None  # monotonic time the call's audio clock began

    def lag(self, frame: InputAudioRawFrame, now: float) -> float:
        """The frame's lag in seconds (0 for the earliest-consistent frame)."""
        start = now - self._audio_s
        self._start = start if self._start is None else min(self._start, start)
        bytes_per_s = 2 * frame.sample_rate * frame.num_channels
        self._audio_s += len(frame.audio) / bytes_per_s
        return start - self._start

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame) and direction == FrameDirection.DOWNSTREAM:
            self._histogram.observe(self.lag(frame, time.monotonic()))
            if self._ends_audio:
                return
        await self.push_frame(frame, direction)
