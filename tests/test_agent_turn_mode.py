"""agent.turn_mode picks what ends the caller's turn: the shared engine, stock Pipecat's
per-call Smart Turn, or Pipecat's silence timeout; a bad mode is refused with its key."""

import pytest
from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3
from pipecat.turns.user_stop import (
    SpeechTimeoutUserTurnStopStrategy,
    TurnAnalyzerUserTurnStopStrategy,
)

from pipeline.agent.call import turn_stop_strategy, user_params
from pipeline.settings import SettingsError, load_settings
from pipeline.turn.analyzer import SharedSmartTurnAnalyzer
from pipeline.turn.stop_strategy import HoldingTurnStopStrategy


def _analyzer(strategy: object) -> object:
    assert isinstance(strategy, TurnAnalyzerUserTurnStopStrategy)
    return strategy._turn_analyzer


def test_smart_is_the_default_and_uses_the_shared_engine() -> None:
    settings = load_settings()
    assert settings.agent.turn_mode == "smart"
    strategy = turn_stop_strategy(settings)
    assert isinstance(strategy, HoldingTurnStopStrategy)
    assert isinstance(_analyzer(strategy), SharedSmartTurnAnalyzer)


def test_the_smart_policy_and_the_vad_follow_their_settings(monkeypatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_TURN_POLICY__OPEN_HOLD_S", "1.75")
    monkeypatch.setenv("SWITCHBOARD_AGENT__VAD_MIN_VOLUME", "0.7")
    params = user_params(load_settings())
    [strategy] = params.user_turn_strategies.stop
    assert isinstance(strategy, HoldingTurnStopStrategy) and strategy._policy.open_hold_s == 1.75
    assert params.vad_analyzer.params.min_volume == 0.7


def test_stock_uses_pipecats_own_analyzer_per_call() -> None:
    settings = load_settings(agent={"turn_mode": "stock"})
    first, second = (_analyzer(turn_stop_strategy(settings)) for _ in range(2))
    assert type(first) is LocalSmartTurnAnalyzerV3 and first is not second


def test_vad_ends_turns_on_silence_alone(monkeypatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_AGENT__TURN_MODE", "vad")
    params = user_params(load_settings())
    assert [type(s) for s in params.user_turn_strategies.stop] == [
        SpeechTimeoutUserTurnStopStrategy
    ]


def test_unknown_turn_mode_is_named() -> None:
    with pytest.raises(SettingsError, match="SWITCHBOARD_AGENT__TURN_MODE"):
        load_settings(agent={"turn_mode": "guess"})
