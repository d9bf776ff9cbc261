"""The models every call shares, loaded once, and whether they are ready yet.

The server starts answering (health: NOT_SERVING) before the models are loaded; until
`load()` has finished, `get()` answers UNAVAILABLE so a client can tell "wait" from "broken".
"""

import logging
import time
from dataclasses import dataclass

import numpy as np

from pipeline.settings import SpeechServerSettings
from pipeline.speech.asr_engine import WhisperEngine
from pipeline.speech.errors import unavailable
from pipeline.speech.tts_engine import PiperEngine
from pipeline.speech.vad import SileroVad

logger = logging.getLogger(__name__)


@dataclass
class Loaded:
    asr: WhisperEngine
    asr_model: str  # the name clients use for it
    tts: PiperEngine
    vad: SileroVad


class Engines:
    """Holds the loaded models; empty until `load()` returns."""

    def __init__(self) -> None:
        self._loaded: Loaded | None = None

    def get(self) -> Loaded:
        if self._loaded is None:
            raise unavailable("the speech models are still loading; retry when health is SERVING")
        return self._loaded

    def load(self, settings: SpeechServerSettings) -> Loaded:
        """Load and warm up Whisper, piper and Silero (the first call of each is slow)."""
        started = time.perf_counter()
        loaded = Loaded(
            asr=WhisperEngine(settings.asr_workers),
            asr_model=settings.asr_model,
            tts=PiperEngine(settings.voice),
            vad=SileroVad(),
        )
        warm = np.concatenate(list(loaded.tts.sentences("Hello.")))
        loaded.asr.transcribe(warm)
        loaded.vad.stream().probability(np.zeros(512, dtype=np.float32))
        logger.info("models loaded and warm in %.1f s", time.perf_counter() - started)
        self._loaded = loaded
        return loaded
