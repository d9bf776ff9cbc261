"""Audio in Riva's wire encodings <-> float32 mono arrays, with validation and resampling.

In: bytes in LINEAR_PCM (int16 little-endian, any common rate, interleaved channels) or
MULAW/ALAW (G.711, 8 kHz). Out: float32 mono in [-1, 1) at the rate the engines want, and back.
Every check raises `RequestError` (INVALID_ARGUMENT) with a message that names the problem.
"""

from dataclasses import dataclass

import numpy as np
import soxr
from riva.client.proto.riva_audio_pb2 import AudioEncoding

from kernels import g711
from pipeline.speech.errors import invalid

LINEAR_PCM = AudioEncoding.LINEAR_PCM
MULAW = AudioEncoding.MULAW
ALAW = AudioEncoding.ALAW
SUPPORTED_ENCODINGS = (LINEAR_PCM, MULAW, ALAW)

MIN_RATE, MAX_RATE = 8000, 96000  # LINEAR_PCM; outside this a rate is a mistake, not audio
G711_RATE = 8000  # call-center audio: MULAW and ALAW only at 8 kHz
MAX_CHANNELS = 8


def encoding_name(encoding: int) -> str:
    try:
        return AudioEncoding.Name(encoding)
    except ValueError:
        return f"unknown encoding {encoding}"


@dataclass(frozen=True)
class AudioFormat:
    """How audio bytes are laid out: encoding, samples per second, interleaved channels."""

    encoding: int
    sample_rate: int
    channels: int = 1

    @property
    def sample_bytes(self) -> int:
        return 2 if self.encoding == LINEAR_PCM else 1

    @property
    def frame_bytes(self) -> int:
        return self.sample_bytes * self.channels


def audio_format(encoding: int, sample_rate: int, channels: int = 1) -> AudioFormat:
    """Validate a requested format (channels 0 means 1) and return it."""
    name = encoding_name(encoding)
    if encoding not in SUPPORTED_ENCODINGS:
        raise invalid(f"encoding {name} is not supported; use LINEAR_PCM, MULAW or ALAW")
    if encoding == LINEAR_PCM and not MIN_RATE <= sample_rate <= MAX_RATE:
        raise invalid(
            f"sample rate {sample_rate} Hz is not valid for LINEAR_PCM; "
            f"use a rate from {MIN_RATE} to {MAX_RATE} Hz"
        )
    if encoding != LINEAR_PCM and sample_rate != G711_RATE:
        raise invalid(f"sample rate {sample_rate} Hz is not valid for {name}; it must be 8000 Hz")
    channels = channels or 1
    if not 1 <= channels <= MAX_CHANNELS:
        raise invalid(f"audio channel count {channels} is not valid; use 1 to {MAX_CHANNELS}")
    return AudioFormat(encoding, sample_rate, channels)


def decode(fmt: AudioFormat, data: bytes) -> np.ndarray:
    """Wire bytes -> float32 mono at fmt.sample_rate (channels are averaged)."""
    if len(data) % fmt.frame_bytes:
        raise invalid(
            f"audio of {len(data)} bytes is not whole samples: {encoding_name(fmt.encoding)} "
            f"with {fmt.channels} channel(s) needs a multiple of {fmt.frame_bytes} bytes"
        )
    if fmt.encoding == LINEAR_PCM:
        pcm = np.frombuffer(data, dtype="<i2")
    elif fmt.encoding == MULAW:
        pcm = g711.ulaw_decode(np.frombuffer(data, dtype=np.uint8))
    else:
        pcm = g711.alaw_decode(np.frombuffer(data, dtype=np.uint8))
    audio = pcm.astype(np.float32) / 32768.0
    if fmt.channels > 1:
        audio = audio.reshape(-1, fmt.channels).mean(axis=1)
    return audio


def encode(fmt: AudioFormat, audio: np.ndarray) -> bytes:
    """float32 mono at fmt.sample_rate -> wire bytes (mono)."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2")
    if fmt.encoding == LINEAR_PCM:
        return pcm.tobytes()
    if fmt.encoding == MULAW:
        return g711.ulaw_encode(pcm).tobytes()
    return g711.alaw_encode(pcm).tobytes()


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Whole-signal resampling with soxr (HQ); a no-op when the rates match."""
    if from_rate == to_rate or audio.size == 0:
        return audio.astype(np.float32, copy=False)
    return soxr.resample(audio, from_rate, to_rate, quality="HQ").astype(np.float32, copy=False)


class StreamDecoder:
    """Decodes a stream of chunks to float32 mono at `rate`, resampling without seams."""

    def __init__(self, fmt: AudioFormat, rate: int) -> None:
        self.fmt = fmt
        self._resampler = (
            soxr.ResampleStream(fmt.sample_rate, rate, 1, dtype="float32", quality="HQ")
            if fmt.sample_rate != rate
            else None
        )

    def decode(self, data: bytes) -> np.ndarray:
        audio = decode(self.fmt, data)
        if self._resampler is None:
            return audio
        return self._resampler.resample_chunk(audio)

    def flush(self) -> np.ndarray:
        """The resampler's last samples, at the end of the stream."""
        if self._resampler is None:
            return np.zeros(0, dtype=np.float32)
        return self._resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
