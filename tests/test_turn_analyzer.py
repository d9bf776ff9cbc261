"""SharedSmartTurnAnalyzer driven as Pipecat drives it, beside stock LocalSmartTurnAnalyzerV3."""

import numpy as np
import pytest
from pipecat.audio.turn.base_turn_analyzer import EndOfTurnState
from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from prometheus_client import REGISTRY
from turn_clips import turn_clips

from models.smart_turn_file import SmartTurnFileError
from pipeline.settings import TurnSettings
from pipeline.turn.analyzer import SharedSmartTurnAnalyzer
from pipeline.turn.engine_registry import build_engine

SETTINGS = TurnSettings(device="cpu", deadline_ms=120_000)


@pytest.fixture(scope="module")
def engine():
    engine = build_engine(SETTINGS)
    engine.wait_ready()
    yield engine
    engine.close()


def fallbacks(reason: str) -> float:
    return REGISTRY.get_sample_value("switchboard_turn_fallbacks_total", {"reason": reason}) or 0.0


def speak(analyzer, audio: np.ndarray, rate: int, is_speech: bool = True) -> list:
    """Feed 20 ms frames the way Pipecat's turn stop strategy does; return the states."""
    analyzer.set_sample_rate(rate)
    frame = rate // 50
    return [
        analyzer.append_audio(audio[i : i + frame].tobytes(), is_speech)
        for i in range(0, len(audio), frame)
    ]


@pytest.mark.parametrize("name", ["piper0_16k", "piper2_8k", "piper3_16k", "beckett_half_8k"])
async def test_same_verdict_and_probability_as_stock(engine, name):
    audio, rate = turn_clips()[name]
    stock, ours = LocalSmartTurnAnalyzerV3(), SharedSmartTurnAnalyzer(engine=engine)
    for analyzer in (stock, ours):
        speak(analyzer, audio, rate)
    stock_state, stock_metrics = await stock.analyze_end_of_turn()
    our_state, our_metrics = await ours.analyze_end_of_turn()
    assert our_state == stock_state
    assert abs(our_metrics.probability - stock_metrics.probability) <= 1e-3
    assert ours.speech_triggered == stock.speech_triggered  # same buffer reset after a verdict


async def test_no_audio_means_no_question(engine):
    analyzer = SharedSmartTurnAnalyzer(engine=engine)
    assert await analyzer.analyze_end_of_turn() == (EndOfTurnState.INCOMPLETE, None)


async def test_silence_timeout_still_ends_the_turn(engine):
    params = SmartTurnParams(stop_secs=0.5)
    analyzer = SharedSmartTurnAnalyzer(engine=engine, params=params)
    audio, rate = turn_clips()["piper3_16k"]
    speak(analyzer, audio, rate)
    states = speak(analyzer, np.zeros(rate, dtype=np.int16), rate, is_speech=False)
    assert EndOfTurnState.COMPLETE in states


@pytest.mark.parametrize(
    ("fallback", "expected"),
    [("silence_timeout", EndOfTurnState.INCOMPLETE), ("complete", EndOfTurnState.COMPLETE)],
)
async def test_missed_deadline_falls_back_and_is_counted(engine, fallback, expected):
    settings = SETTINGS.model_copy(update={"deadline_ms": 0.001, "fallback": fallback})
    analyzer = SharedSmartTurnAnalyzer(engine=engine, settings=settings)
    audio, rate = turn_clips()["piper0_16k"]
    speak(analyzer, audio, rate)
    before = fallbacks("deadline")
    state, metrics = await analyzer.analyze_end_of_turn()
    assert (state, metrics) == (expected, None)
    assert fallbacks("deadline") == before + 1


def test_stock_model_path_argument_is_honoured(tmp_path):
    with pytest.raises(SmartTurnFileError, match="not found"):
        SharedSmartTurnAnalyzer(smart_turn_model_path=str(tmp_path / "missing.onnx"))
