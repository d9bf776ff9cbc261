"""The scripted speech stand-in: the speech server's engines, swapped for ones that cost
next to nothing, so a load test measures the agent and not the speech models.

In: a script (a text file, one transcript per line) and the speech_server settings. Out:
`ScriptedEngines`, which the real server (pipeline/speech/server.py) serves as it serves
the models: the same Riva gRPC services, pools, health and endpointing.

- ASR: the real endpointing (Riva's rule, endpointing.py) on a simple energy gate instead of
  Silero; each utterance it finds is answered, `scripted_delay_ms` after endpointing closed
  it, with the script's next line: each stream reads the script from the top, and from the
  top again after the last line. Finals only: no interim results.
- TTS: piper, each distinct text rendered once and its audio replayed after that.
"""

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from pipeline.settings import SpeechServerSettings
from pipeline.speech.asr_engine import Transcript
from pipeline.speech.engines import Engines, Loaded
from pipeline.speech.tts_engine import PiperEngine

logger = logging.getLogger(__name__)

# A 32 ms frame at or above this RMS (float full scale: -45 dBFS) counts as speech: well above
# the callers' line noise (-62 to -54 dBFS), well below speech.
SPEECH_RMS = 10 ** (-45 / 20)
MAX_TEXTS = 256  # distinct TTS texts whose audio is kept


class ScriptError(ValueError):
    """The script cannot be used; the message says why."""


def read_script(path: Path) -> list[str]:
    """The script's non-empty lines, stripped; ScriptError when there is none."""
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(f"cannot read the script {path}: {exc}") from exc
    lines = [line for line in lines if line]
    if not lines:
        raise ScriptError(f"the script {path} has no transcript: write one per line")
    return lines


class ScriptPlaces:
    """Where each stream is in the script. The server runs a stream on one thread from its
    first request to its last and makes its VAD stream once, first: so the place is kept per
    thread, and the gate's `stream()` puts it back at the top."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines
        self._local = threading.local()

    def restart(self) -> None:
        self._local.next = 0

    def next_line(self) -> str:
        at = getattr(self._local, "next", 0)
        self._local.next = at + 1
        return self._lines[at % len(self._lines)]


class ScriptedAsr:
    """Whisper's place: each final transcript is the stream's next line, after a delay."""

    workers = 1
    spare = False  # never a decoder to spare: no interim results are attempted

    def __init__(self, places: ScriptPlaces, delay_s: float) -> None:
        self._places = places
        self._delay_s = delay_s

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        words: bool = False,
        hotwords: str | None = None,
        quick: bool = False,
    ) -> Transcript | None:
        """The next line, `delay_s` from now (blocking the stream, as a decode would)."""
        if quick:
            return None
        time.sleep(self._delay_s)
        return Transcript(self._places.next_line(), confidence=1.0)


class EnergyGateStream:
    """Silero's place for one stream: 1.0 for a frame loud enough to be speech, else 0.0."""

    def reset(self) -> None:
        """Nothing to forget: each frame is judged alone."""

    def probability(self, frame: np.ndarray) -> float:
        energy = float(np.dot(frame, frame)) / max(1, frame.size)
        return 1.0 if energy >= SPEECH_RMS**2 else 0.0


class EnergyGate:
    """Silero's place: a gate per stream; a new stream starts the script from the top."""

    def __init__(self, places: ScriptPlaces) -> None:
        self._places = places

    def stream(self) -> EnergyGateStream:
        self._places.restart()
        return EnergyGateStream()


class CachedPiperEngine(PiperEngine):
    """piper that renders each distinct text once and replays its sentences after that.

    Once also when many calls ask for the same text at the same moment (every call's
    greeting): the first renders it, the others wait for its audio. The MAX_TEXTS texts
    asked for last are kept."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._rendered: OrderedDict[str, Future[tuple[np.ndarray, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    def sentences(self, text: str) -> Iterator[np.ndarray]:
        with self._lock:
            rendering = self._rendered.get(text)
            mine = rendering is None
            if rendering is None:
                rendering = self._rendered[text] = Future()
                if len(self._rendered) > MAX_TEXTS:
                    self._rendered.popitem(last=False)
            self._rendered.move_to_end(text)
        if mine:
            try:
                rendering.set_result(tuple(super().sentences(text)))
            except Exception as exc:
                with self._lock:
                    self._rendered.pop(text, None)  # the next request tries again
                rendering.set_exception(exc)
        yield from rendering.result()


class ScriptedEngines(Engines):
    """Engines whose `load` gives the scripted ASR, an energy gate and cached piper.

    The script is read when this is made, so a bad one is refused before the server starts."""

    def __init__(self, settings: SpeechServerSettings) -> None:
        super().__init__()
        if settings.scripted is None:
            raise ScriptError("speech_server.scripted names no script")
        self._lines = read_script(settings.scripted)
        self._script = settings.scripted

    def load(self, settings: SpeechServerSettings) -> Loaded:
        started = time.perf_counter()
        places = ScriptPlaces(self._lines)
        loaded = Loaded(
            asr=ScriptedAsr(places, settings.scripted_delay_ms / 1000),  # type: ignore[arg-type]
            asr_model=settings.asr_model,
            tts=CachedPiperEngine(settings.voice),
            vad=EnergyGate(places),  # type: ignore[arg-type]
        )
        logger.info(
            "scripted engines ready in %.1f s: %d transcripts from %s, answered after %d ms",
            time.perf_counter() - started,
            len(self._lines),
            self._script,
            settings.scripted_delay_ms,
        )
        self._loaded = loaded
        return loaded
