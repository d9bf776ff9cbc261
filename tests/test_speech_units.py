"""The speech server's parts without a server: G.711, audio formats, WAV, endpointing."""

import io
import warnings
import wave

import numpy as np
import pytest
from riva.client.proto import riva_asr_pb2 as rasr

from kernels import g711
from pipeline.speech import audio
from pipeline.speech.asr_stream import plain_text
from pipeline.speech.endpointing import Endpointing, UtteranceDetector
from pipeline.speech.errors import RequestError
from pipeline.speech.vad import FRAME, RATE
from pipeline.speech.wav import split_wav

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # the reference implementation, deprecated in 3.11 and gone in 3.13

ALL_PCM = np.arange(-32768, 32768, dtype=np.int16)
ALL_CODES = np.arange(256, dtype=np.uint8)


@pytest.mark.parametrize(
    ("encode", "decode", "ref_encode", "ref_decode"),
    [
        (g711.ulaw_encode, g711.ulaw_decode, audioop.lin2ulaw, audioop.ulaw2lin),
        (g711.alaw_encode, g711.alaw_decode, audioop.lin2alaw, audioop.alaw2lin),
    ],
)
def test_g711_matches_the_reference_bit_for_bit(encode, decode, ref_encode, ref_decode):
    expected = np.frombuffer(ref_encode(ALL_PCM.tobytes(), 2), dtype=np.uint8)
    np.testing.assert_array_equal(encode(ALL_PCM), expected)
    expected = np.frombuffer(ref_decode(ALL_CODES.tobytes(), 2), dtype=np.int16)
    np.testing.assert_array_equal(decode(ALL_CODES), expected)
    np.testing.assert_array_equal(
        encode(decode(ALL_CODES)), encode(decode(encode(decode(ALL_CODES))))
    )


@pytest.mark.parametrize("encoding", [audio.MULAW, audio.ALAW])
def test_g711_round_trip_keeps_a_tone(encoding):
    fmt = audio.audio_format(encoding, 8000)
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000).astype(np.float32)
    back = audio.decode(fmt, audio.encode(fmt, tone))
    assert len(audio.encode(fmt, tone)) == 8000
    assert np.abs(back - tone).max() < 0.02


def test_linear_pcm_channels_are_averaged():
    fmt = audio.audio_format(audio.LINEAR_PCM, 16000, 2)
    stereo = np.array([1000, 3000, -2000, 0], dtype="<i2").tobytes()
    np.testing.assert_allclose(audio.decode(fmt, stereo) * 32768, [2000, -1000])


@pytest.mark.parametrize(
    ("encoding", "rate", "channels", "words"),
    [
        (audio.LINEAR_PCM, 0, 1, "sample rate 0"),
        (audio.LINEAR_PCM, 200_000, 1, "200000"),
        (audio.MULAW, 16000, 1, "8000"),
        (2, 16000, 1, "FLAC"),
        (99, 16000, 1, "unknown encoding 99"),
        (audio.LINEAR_PCM, 16000, 9, "channel"),
    ],
)
def test_bad_formats_say_what_is_wrong(encoding, rate, channels, words):
    with pytest.raises(RequestError) as failure:
        audio.audio_format(encoding, rate, channels)
    assert words in failure.value.message


def test_partial_samples_are_refused():
    fmt = audio.audio_format(audio.LINEAR_PCM, 16000, 2)
    with pytest.raises(RequestError, match="multiple of 4 bytes"):
        audio.decode(fmt, bytes(6))


def test_stream_decoder_resamples_without_losing_time():
    decoder = audio.StreamDecoder(audio.audio_format(audio.LINEAR_PCM, 44100), 16000)
    chunks = [bytes(4410 * 2)] * 10  # one second in 100 ms chunks
    total = sum(len(decoder.decode(c)) for c in chunks) + len(decoder.flush())
    assert total == 16000


def test_wav_header_gives_the_format():
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(22050)
        wav.writeframes(bytes(400))
    fmt, data = split_wav(buffer.getvalue())
    assert fmt == audio.AudioFormat(audio.LINEAR_PCM, 22050, 2) and len(data) == 400
    assert split_wav(bytes(400)) is None


class LoudnessVad:
    """A stand-in VAD: a frame is speech when it is loud."""

    def __init__(self) -> None:
        self.resets = 0

    def probability(self, frame: np.ndarray) -> float:
        return 1.0 if np.abs(frame).mean() > 0.1 else 0.0

    def reset(self) -> None:
        self.resets += 1


def frames(*pattern: tuple[float, int]) -> np.ndarray:
    """(level, number of 32 ms frames) pieces."""
    return np.concatenate([np.full(n * FRAME, level, dtype=np.float32) for level, n in pattern])


def test_endpointing_follows_stop_history():
    vad = LoudnessVad()
    config = Endpointing.from_proto(rasr.EndpointingConfig(stop_history=320))  # 10 frames
    detector = UtteranceDetector(vad, config)
    stream = frames((0, 20), (0.5, 30), (0, 9), (0.5, 10), (0, 10), (0, 5))
    done = detector.feed(stream)
    assert len(done) == 1  # a 9-frame pause does not end it; 10 frames do
    # it starts at the 2nd speech frame (20 % of a 9-frame start_history), keeping those
    # 9 frames as lead-in, and ends after 10 silent frames
    assert len(done[0].audio) == (9 + 28 + 9 + 10 + 10) * FRAME
    assert done[0].start_s == pytest.approx((20 + 2 - 9) * FRAME / RATE)
    assert not detector.active and vad.resets == 1
    assert detector.finish() is None


def test_endpointing_says_where_the_speech_of_an_utterance_ends():
    """What early finals compare: the speech so far, and the non-speech after it."""
    config = Endpointing.from_proto(rasr.EndpointingConfig(stop_history=320))  # 10 frames
    detector = UtteranceDetector(LoudnessVad(), config)
    assert detector.closing_frames == 10
    detector.feed(frames((0, 5), (0.5, 20), (0, 3)))
    assert detector.samples - detector.speech_samples == 3 * FRAME
    assert detector.current().trailing_silence == 3 * FRAME
    detector.feed(frames((0.5, 2), (0, 4)))  # speech resumed: its end moved
    assert detector.samples - detector.speech_samples == 4 * FRAME
    (done,) = detector.feed(frames((0, 6)))
    assert done.trailing_silence == 10 * FRAME
    assert done.audio.size - done.trailing_silence == detector_speech_end(done)


def detector_speech_end(utterance) -> int:
    """Samples up to the end of the last loud frame (LoudnessVad's speech)."""
    loud = np.flatnonzero(np.abs(utterance.audio.reshape(-1, FRAME)).mean(axis=1) > 0.1)
    return (int(loud[-1]) + 1) * FRAME


def test_stream_end_finishes_the_utterance_in_progress():
    detector = UtteranceDetector(LoudnessVad(), Endpointing())
    assert detector.feed(frames((0, 5), (0.5, 20))) == []
    assert detector.active
    last = detector.finish()
    assert last is not None and len(last.audio) == 25 * FRAME


def test_long_speech_is_cut_at_the_maximum():
    detector = UtteranceDetector(LoudnessVad(), Endpointing(), max_seconds=1.0)
    done = detector.feed(frames((0.5, 100)))
    assert len(done) == 3 and all(len(u.audio) <= RATE + FRAME for u in done)


def test_nonsense_endpointing_is_refused():
    with pytest.raises(RequestError, match="stop_threshold"):
        Endpointing.from_proto(rasr.EndpointingConfig(stop_threshold=3.0))


def test_plain_text_is_riva_without_punctuation():
    assert plain_text(" Ever tried. Ever failed, no matter!") == "ever tried ever failed no matter"
    assert plain_text("I'm on the e-mail.") == "i'm on the e-mail"


def test_server_names_match_what_the_agent_asks_for():
    """The agent's defaults (asr.model, tts.voice) name what the speech server serves."""
    from pipeline.settings import load_settings

    settings = load_settings()
    assert settings.speech_server.asr_model == settings.asr.model
    assert settings.speech_server.voice == settings.tts.voice
