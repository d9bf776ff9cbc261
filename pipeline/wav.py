"""Read and write 16-bit PCM WAV files, with errors that say what is wrong with the file."""

import wave
from pathlib import Path

import numpy as np


class WavError(ValueError):
    """The file is not a mono 16-bit PCM WAV."""


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """A mono 16-bit PCM WAV → (int16 samples, sample rate)."""
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except FileNotFoundError:
        raise WavError(f"{path}: no such file") from None
    except (wave.Error, EOFError) as exc:
        raise WavError(f"{path}: not a PCM WAV file ({exc})") from None
    if width != 2:
        raise WavError(f"{path}: {8 * width}-bit samples; convert to 16-bit PCM")
    if channels != 1:
        raise WavError(f"{path}: {channels} channels; convert to mono")
    return np.frombuffer(frames, dtype=np.int16), rate


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> None:
    """int16 mono samples → a 16-bit PCM WAV file."""
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(np.asarray(audio, dtype=np.int16).tobytes())
