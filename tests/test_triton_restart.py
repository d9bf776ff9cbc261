"""Failover against a real turn-server: kill it under a load of concurrent calls, every pending
turn is still decided within the bound; restart it, and turns flow back to it by themselves."""

import asyncio
import time

import numpy as np
import pytest
from prometheus_client import REGISTRY
from triton_server_fixture import turn_server  # noqa: F401  (the session fixture)
from turn_clips import turn_clips

from pipeline.settings import TurnSettings
from pipeline.turn.analyzer import SharedSmartTurnAnalyzer
from pipeline.turn.engine_registry import build_engine

pytestmark = pytest.mark.slow
CALLS = 6
DEADLINE_MS = 2500  # the configured bound (generous: 2 busy cores score ~5 clips/s)
SLACK_S = 0.5  # event-loop scheduling on a busy machine


def failovers() -> float:
    name = "switchboard_turn_triton_failovers_total"
    reasons = ("unreachable", "timeout", "error", "circuit_open")
    return sum(REGISTRY.get_sample_value(name, {"reason": r}) or 0.0 for r in reasons)


def settings_for(url: str, **changes: object) -> TurnSettings:
    base = TurnSettings(
        engine="triton",
        triton_url=url,
        deadline_ms=DEADLINE_MS,
        triton_timeout_ms=2000,
        triton_probe_interval_s=0.5,
    )
    return base.model_copy(update=changes)


async def one_turn(analyzer: SharedSmartTurnAnalyzer, audio: np.ndarray, rate: int) -> tuple:
    """Speak a turn in 20 ms frames, ask for the verdict: (start, seconds, scored?)."""
    for start in range(0, len(audio), rate // 50):
        analyzer.append_audio(audio[start : start + rate // 50].tobytes(), True)
    started = time.monotonic()
    _, metrics = await analyzer.analyze_end_of_turn()
    analyzer.clear()
    return started, time.monotonic() - started, metrics is not None


async def call(engine, settings, stop: asyncio.Event, turns: list) -> None:
    analyzer = SharedSmartTurnAnalyzer(engine=engine, settings=settings)
    analyzer.set_sample_rate(16000)
    audio, rate = turn_clips()["piper0_16k"]
    while not stop.is_set():
        turns.append(await one_turn(analyzer, audio, rate))
        await asyncio.sleep(0.1)


async def test_a_slow_triton_is_a_timeout_and_the_backup_decides(turn_server):  # noqa: F811
    engine = build_engine(settings_for(turn_server.url, triton_timeout_ms=1))
    name = "switchboard_turn_triton_failovers_total"
    before = REGISTRY.get_sample_value(name, {"reason": "timeout"}) or 0.0
    try:
        audio, rate = turn_clips()["piper3_16k"]
        assert await engine.submit(audio, rate) < 0.5  # the backup's (true) verdict
        assert REGISTRY.get_sample_value(name, {"reason": "timeout"}) == before + 1
    finally:
        engine.close()


async def test_kill_under_load_then_restart(turn_server):  # noqa: F811
    settings = settings_for(turn_server.url)
    engine = build_engine(settings)
    try:
        assert engine.wait_ready(60) and not engine.breaker.is_open
        stop, turns = asyncio.Event(), []
        load = asyncio.gather(*(call(engine, settings, stop, turns) for _ in range(CALLS)))
        until = time.monotonic() + 30  # let Triton answer some turns first
        while time.monotonic() < until and not turn_server.metrics().get("nv_inference_count"):
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)  # and have more in flight
        served_before_kill = turn_server.metrics().get("nv_inference_count", 0)
        failovers_before = failovers()
        killed_at = time.monotonic()
        await asyncio.to_thread(turn_server.kill)
        assert not turn_server.group(), "tritonserver or its stub outlived the kill"
        await asyncio.sleep(4)
        stop.set()
        await asyncio.wait_for(load, DEADLINE_MS / 1000 + 5)

        assert served_before_kill > 0
        slowest = max(seconds for _, seconds, _ in turns)
        assert slowest <= DEADLINE_MS / 1000 + SLACK_S, f"a turn waited {slowest:.2f} s"
        pending = [t for t in turns if t[0] < killed_at < t[0] + t[1]]
        after = [t for t in turns if t[0] > killed_at]
        assert pending, "no turn was in flight when the server died"
        assert after and failovers() > failovers_before
        assert engine.breaker.is_open

        await asyncio.to_thread(turn_server.start)
        audio, rate = turn_clips()["piper1_16k"]
        until = time.monotonic() + 30
        while time.monotonic() < until and turn_server.metrics().get("nv_inference_count", 0) == 0:
            await engine.submit(audio, rate)
            await asyncio.sleep(0.3)
        assert turn_server.metrics().get("nv_inference_count", 0) > 0, "no turn reached Triton"
        assert not engine.breaker.is_open
    finally:
        engine.close()
