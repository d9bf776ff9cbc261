"""The agent's Silero VAD: one shared session, yet every call decides exactly as stock Pipecat's
SileroVADAnalyzer does, and one call's audio never moves another call's state; with the
agent's settings it hears every short answer and no line noise, DTMF, breath, echo or
background talker (generated audio: pipeline/bench/turn_quality/line_sounds.py)."""

import asyncio

import numpy as np
import pytest
from pipecat.audio.vad.silero import SileroVADAnalyzer
from pipecat.audio.vad.vad_analyzer import VADAnalyzer, VADParams

from models.silero_vad import silero_session
from pipeline.agent.vad import SharedSileroVADAnalyzer, agent_vad
from pipeline.bench.turn_quality.line_sounds import not_speech, short_answers
from pipeline.bench.turn_quality.vad_check import heard
from pipeline.callers.utterance_audio import line_noise, render_utterance
from pipeline.settings import AgentSettings

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


@pytest.mark.parametrize("rate", [16000, 8000])
def test_the_agents_vad_hears_every_short_answer_and_nothing_else(rate: int) -> None:
    """Lone 0.3-0.4 s words start a turn (8 kHz: through G.711 and the serializer's
    resampling); line noise, DTMF, breath, the agent's echo at -20/-30 dB 50-250 ms late and a
    room talker at -25 dB start none."""
    agent = AgentSettings()
    answers = heard(lambda: agent_vad(agent), short_answers(rate), rate)
    assert answers == {word: 1 for word in answers}
    others = heard(lambda: agent_vad(agent), not_speech(rate), rate)
    assert others == {name: 0 for name in others}


@pytest.mark.parametrize("rate", [16000, 8000])
def test_a_short_answer_right_after_the_vad_starts_listening_is_heard(rate: int) -> None:
    """A word 0.3 s into the line (a new call, or a replay of one utterance): Pipecat's smoothed
    gate is still near 0 and misses most; the agent's reads the loudness as is."""
    cold = short_answers(rate, lead_in_s=0.0)
    agent = AgentSettings()
    assert heard(lambda: agent_vad(agent), cold, rate) == {word: 1 for word in cold}
    stock = heard(lambda: SharedSileroVADAnalyzer(params=PARAMS), cold, rate)
    assert {"no", "nope", "sure"} <= {word for word, n in stock.items() if n == 0}


def test_why_the_agents_vad_settings_differ_from_pipecats() -> None:
    """Pipecat's defaults, a call under way, 8 kHz: short answers are heard but the agent's
    echo at -20 dB and a room talker start turns; raising only the gate to stop them loses
    the short answers (its smoothing and 0.2 s start_secs), hence all three settings."""
    rate = 8000
    others = heard(lambda: SharedSileroVADAnalyzer(params=PARAMS), not_speech(rate), rate)
    assert others["echo-20dB-50ms"] == others["talker-25dB"] == 1
    gate_only = VADParams(stop_secs=0.2, min_volume=AgentSettings().vad_min_volume)
    answers = heard(lambda: SharedSileroVADAnalyzer(params=gate_only), short_answers(rate), rate)
    assert {"no", "nope", "sure"} <= {word for word, n in answers.items() if n == 0}


def test_the_agents_vad_follows_its_settings() -> None:
    agent = AgentSettings(vad_min_volume=0.5, vad_start_secs=0.3, vad_volume_smoothing=0.4)
    vad = agent_vad(agent)
    assert vad.params.min_volume == 0.5 and vad.params.start_secs == 0.3
    assert vad.params.stop_secs == agent.vad_stop_secs and vad._smoothing_factor == 0.4
