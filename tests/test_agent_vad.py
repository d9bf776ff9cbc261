"""The agent's Silero VAD: one shared session, yet every call decides exactly as stock Pipecat's
SileroVADAnalyzer does, and one call's audio never moves another call's state."""

import asyncio

import numpy as np
import pytest
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams

from models.silero_vad import silero_session
from pipeline.agent.vad import SharedSileroVADAnalyzer
from pipeline.callers.utterance_audio import line_noise, render_utterance

PARAMS = VADParams(stop_secs=0.2)


def _speech(rate: int) -> bytes:
    """Piper speech with a pause inside, then 3 s of line noise (the state resets there)."""
    spoken = render_utterance(["My order number is", "four five six"], [900], seed=3, rate=rate)
    return np.concatenate([spoken.audio, line_noise(3 * rate, 5, rate)]).tobytes()


def _chunks(audio: bytes, rate: int) -> list[bytes]:
    size = rate // 50 * 2  # 20 ms of int16
    return [audio[i : i + size] for i in range(0, len(audio) - size + 1, size)]


def _analyzer(cls: type[VADAnalyzer], rate: int) -> VADAnalyzer:
    analyzer = cls(params=PARAMS)
    analyzer.set_sample_rate(rate)
    return analyzer


async def _states(analyzer: VADAnalyzer, chunks: list[bytes]) -> list[str]:
    return [(await analyzer.analyze_audio(chunk)).name for chunk in chunks]


@pytest.mark.parametrize("rate", [16000, 8000])
def test_the_shared_analyzer_decides_as_stock_pipecat_does(rate: int) -> None:
    chunks = _chunks(_speech(rate), rate)
    stock = asyncio.run(_states(_analyzer(SileroVADAnalyzer, rate), chunks))
    shared = asyncio.run(_states(_analyzer(SharedSileroVADAnalyzer, rate), chunks))
    assert "SPEAKING" in stock and stock[-1] == "QUIET"  # the audio exercises the VAD
    assert shared == stock


def test_calls_share_the_session_but_not_the_state() -> None:
    rate = 16000
    speech = _chunks(_speech(rate), rate)
    noise = _chunks(line_noise(len(speech) * rate // 50, 9, rate).tobytes(), rate)
    alone = asyncio.run(_states(_analyzer(SharedSileroVADAnalyzer, rate), speech))

    async def interleaved() -> list[str]:
        caller, other = (_analyzer(SharedSileroVADAnalyzer, rate) for _ in range(2))
        assert caller._model.session is other._model.session is silero_session()
        states = []
        for mine, theirs in zip(speech, noise, strict=True):
            states.append((await caller.analyze_audio(mine)).name)
            await other.analyze_audio(theirs)
        return states

    assert asyncio.run(interleaved()) == alone
