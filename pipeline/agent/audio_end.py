"""Where the agent's own audio stops: right after the output transport has played it.

In: a call's frames, downstream of the output transport. Out: every frame but the agent's
audio (OutputAudioRawFrame), which Pipecat's output transport passes on after writing it in
chunks of 40 ms, and which nothing after it reads in the agent's pipeline (the assistant
aggregator keeps the text). It runs in Pipecat's direct mode (each frame handled in the
pusher's task, no queue and task of its own), so the drop itself costs a call, where the
assistant aggregator's queue hop cost a task wake-up per chunk.
"""

from pipecat.frames.frames import Frame, OutputAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor


class AgentAudioEnd(FrameProcessor):
    """Passes every frame on but the agent's audio going downstream."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(enable_direct_mode=True, **kwargs)

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, OutputAudioRawFrame) and direction == FrameDirection.DOWNSTREAM:
            return
        await self.push_frame(frame, direction)
