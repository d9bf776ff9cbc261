"""The agent's metrics and transcripts: frame lag against the call's audio clock (a real
Pipecat pipeline, pipecat.tests.utils.run_test), and the transcript JSON lines."""

import asyncio
import json

from pipecat.frames.frames import InputAudioRawFrame, TextFrame
from pipecat.tests.utils import run_test
from prometheus_client import CollectorRegistry, Histogram

from pipeline.agent.frame_lag import FrameLagMeter
from pipeline.agent.transcripts import TranscriptWriter

RATE = 16000
FRAME_S = 0.02


def _frame() -> InputAudioRawFrame:
    return InputAudioRawFrame(audio=b"\0\0" * int(RATE * FRAME_S), sample_rate=RATE, num_channels=1)


def _histogram() -> tuple[Histogram, CollectorRegistry]:
    registry = CollectorRegistry()
    return Histogram("lag_seconds", "test", registry=registry, buckets=(0.001, 0.1, 1.0)), registry


def test_frame_lag_is_how_far_past_the_audio_clock_a_frame_is_seen() -> None:
    meter = FrameLagMeter(histogram=_histogram()[0])
    on_time = [meter.lag(_frame(), 10.0 + i * FRAME_S) for i in range(3)]
    late = meter.lag(_frame(), 10.5)  # the 4th frame is due at 10.06
    early = meter.lag(_frame(), 10.08 + 0.001)  # due at 10.08; a burst catching up
    assert on_time == [0.0, 0.0, 0.0]
    assert abs(late - 0.44) < 1e-9
    assert abs(early - 0.001) < 1e-9


def test_a_late_first_frame_does_not_hide_later_lag() -> None:
    meter = FrameLagMeter(histogram=_histogram()[0])
    assert meter.lag(_frame(), 5.3) == 0.0  # first frame delayed by 0.3 s
    assert meter.lag(_frame(), 5.02) == 0.0  # the clock moves back to the earliest start
    assert abs(meter.lag(_frame(), 5.3) - 0.26) < 1e-9  # due at 5.04


def test_meter_in_a_pipeline_observes_every_audio_frame_and_passes_it_on() -> None:
    histogram, registry = _histogram()
    frames = [_frame() for _ in range(25)]
    down, _ = asyncio.run(
        run_test(
            FrameLagMeter(histogram=histogram),
            frames_to_send=frames,
            expected_down_frames=[InputAudioRawFrame] * 25,
        )
    )
    assert registry.get_sample_value("lag_seconds_count") == 25
    # Sent faster than real time, so no frame is behind the clock.
    assert registry.get_sample_value("lag_seconds_bucket", {"le": "0.001"}) == 25
    assert all(a is b for a, b in zip(down, frames, strict=True))


def test_a_meter_that_ends_audio_measures_it_and_passes_only_the_rest() -> None:
    histogram, registry = _histogram()
    frames = [_frame(), TextFrame(text="hello"), _frame()]
    down, _ = asyncio.run(
        run_test(
            FrameLagMeter(histogram=histogram, ends_audio=True),
            frames_to_send=frames,
            expected_down_frames=[TextFrame],
        )
    )
    assert registry.get_sample_value("lag_seconds_count") == 2
    assert down[0] is frames[1]


def test_transcript_lines_are_whole_json_objects(tmp_path) -> None:
    path = tmp_path / "t.jsonl"
    first, second = TranscriptWriter(path, "MZ1"), TranscriptWriter(path, "MZ2")
    first.turn("caller", 'I said "hi"\nthen more', "2026-01-01T00:00:00.000+00:00")
    second.turn("agent", "Hello.", "2026-01-01T00:00:01.000+00:00", interrupted=True)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(t["call_id"], t["role"], t["interrupted"]) for t in lines] == [
        ("MZ1", "caller", False),
        ("MZ2", "agent", True),
    ]
    assert lines[0]["text"] == 'I said "hi"\nthen more'
    assert lines[1]["ended_at"] >= lines[1]["started_at"]


def test_an_unwritable_transcript_file_is_logged_once_and_the_call_goes_on(
    tmp_path, caplog
) -> None:
    writer = TranscriptWriter(tmp_path, "MZ1")  # a directory: cannot be opened for append
    for _ in range(3):
        writer.turn("caller", "hello", "2026-01-01T00:00:00.000+00:00")
    errors = [r for r in caplog.records if "cannot write transcripts" in r.getMessage()]
    assert len(errors) == 1 and "MZ1" in errors[0].getMessage()


def test_no_transcripts_file_writes_nothing(tmp_path) -> None:
    TranscriptWriter(None, "MZ1").turn("caller", "hello", "2026-01-01T00:00:00.000+00:00")
    assert not list(tmp_path.iterdir())
