"""The agent's audio ends after the output transport (pipeline/agent/audio_end.py): a real
Pipecat pipeline, pipecat.tests.utils.run_test."""

import asyncio

from pipecat.frames.frames import OutputAudioRawFrame, TextFrame, TTSAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection
from pipecat.tests.utils import run_test

from pipeline.agent.audio_end import AgentAudioEnd


def _audio(kind: type[OutputAudioRawFrame] = OutputAudioRawFrame) -> OutputAudioRawFrame:
    return kind(audio=b"\0\0" * 320, sample_rate=16000, num_channels=1)


def test_the_agents_audio_stops_and_everything_else_goes_on() -> None:
    text = TextFrame(text="hello")
    down, _ = asyncio.run(
        run_test(
            AgentAudioEnd(),
            frames_to_send=[_audio(), text, _audio(TTSAudioRawFrame)],
            expected_down_frames=[TextFrame],
        )
    )
    assert down[0] is text


def test_audio_going_upstream_passes() -> None:
    asyncio.run(
        run_test(
            AgentAudioEnd(),
            frames_to_send=[_audio()],
            frames_to_send_direction=FrameDirection.UPSTREAM,
            expected_down_frames=[],
            expected_up_frames=[OutputAudioRawFrame],
        )
    )
