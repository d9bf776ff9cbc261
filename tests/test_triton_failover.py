"""Failover from Triton to the in-process engine, without a server: a scripted Triton client
(answers or failures chosen by the test) and a backup engine on a fake, instant runner."""

import asyncio
import time

import numpy as np
import pytest
from prometheus_client import REGISTRY
from triton_server_fixture import free_port

from models.packed_batch import Done, score_now
from pipeline.settings import TurnSettings
from pipeline.turn.analyzer import SharedSmartTurnAnalyzer
from pipeline.turn.engine_registry import build_engine
from pipeline.turn.failover import FailoverTurnEngine
from pipeline.turn.local_engine import BatchingTurnEngine
from pipeline.turn.triton_engine import TritonTurnEngine, TritonTurnError, TritonUnreachable

BACKUP_P = 0.25
AUDIO = np.full(16000, 100, dtype=np.int16)


class FakeRunner:
    device = "cpu"

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.clips = 0  # scored after the warm-up

    def score(self, clips: np.ndarray) -> np.ndarray:
        return np.full(len(clips), BACKUP_P, dtype=np.float32)  # the warm-up's: instant

    def launch(self, segments: list[np.ndarray]) -> Done:
        if not np.any([segment.any() for segment in segments]):
            return score_now(self.score, segments)  # the warm-up's silent turn: instant
        time.sleep(self.seconds)
        self.clips += len(segments)
        return score_now(self.score, segments)


class ScriptedTriton(TritonTurnEngine):
    """A Triton client whose answer (a probability, or an exception to raise) is set by the
    test; `ready` is what its readiness probe says (or raises). Nothing is sent anywhere."""

    def __init__(self, answer: float | Exception = 0.9, delay_s: float = 0.0) -> None:
        super().__init__(f"127.0.0.1:{free_port()}")
        self.answer, self.delay_s, self.ready, self.calls = answer, delay_s, False, 0
        self.clips: list[np.ndarray] = []

    async def infer(self, clip: np.ndarray) -> float:
        self.calls += 1
        self.clips.append(clip)
        await asyncio.sleep(self.delay_s)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    async def is_ready(self, timeout_s: float = 1.0) -> bool:
        if isinstance(self.ready, Exception):
            raise self.ready
        return self.ready


def failovers(reason: str) -> float:
    name = "switchboard_turn_triton_failovers_total"
    return REGISTRY.get_sample_value(name, {"reason": reason}) or 0.0


@pytest.fixture
def make_engine():
    engines = []

    def make(primary, backup_seconds: float | None = 0.0, **kwargs) -> FailoverTurnEngine:
        backup = None
        if backup_seconds is not None:
            backup = BatchingTurnEngine(FakeRunner(backup_seconds), deadline_ms=60_000)
            backup.wait_ready()
        engines.append(FailoverTurnEngine(primary, backup, **kwargs))
        return engines[-1]

    yield make
    for engine in engines:
        engine.close()


async def test_a_healthy_triton_decides(make_engine):
    engine = make_engine(ScriptedTriton(0.9))
    assert await engine.submit(AUDIO, 16000) == pytest.approx(0.9)
    assert engine.backup.runner.clips == 0  # the backup scored nothing


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (TritonUnreachable("Triton at x unreachable"), "unreachable"),
        (TimeoutError("no answer"), "timeout"),
        (TritonTurnError("Triton at x answered an error"), "error"),
    ],
)
async def test_each_failure_is_decided_by_the_backup_and_counted(make_engine, failure, reason):
    engine = make_engine(ScriptedTriton(failure))
    before = failovers(reason)
    assert await engine.submit(AUDIO, 16000) == pytest.approx(BACKUP_P)
    assert failovers(reason) == before + 1


async def test_the_circuit_opens_and_the_probe_brings_traffic_back(make_engine):
    triton = ScriptedTriton(TritonUnreachable("down"))
    engine = make_engine(triton, failure_threshold=3, probe_interval_s=0.05)
    for _ in range(3):
        assert await engine.submit(AUDIO, 16000) == pytest.approx(BACKUP_P)
    assert engine.breaker.is_open
    before = failovers("circuit_open")
    assert await engine.submit(AUDIO, 16000) == pytest.approx(BACKUP_P)
    assert triton.calls == 3 and failovers("circuit_open") == before + 1  # Triton was spared
    calls = triton.calls
    triton.answer, triton.ready = 0.8, True
    await until_state(engine, "closed")  # by itself: no turn was needed
    assert triton.calls == calls + 1  # the trial request
    assert triton.clips[-1].any()  # it carried the latest turn's clip, not silence
    assert await engine.submit(AUDIO, 16000) == pytest.approx(0.8)


async def until_state(engine: FailoverTurnEngine, state: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while engine.breaker.state != state:
        assert time.monotonic() < deadline, f"the circuit stayed {engine.breaker.state}"
        await asyncio.sleep(0.01)


async def open_circuit(engine: FailoverTurnEngine) -> None:
    for _ in range(engine.breaker.threshold):
        assert await engine.submit(AUDIO, 16000) == pytest.approx(BACKUP_P)
    assert engine.breaker.is_open


async def test_a_ready_probe_alone_does_not_close_the_circuit(make_engine):
    # Triton's server says ready but its model answers errors: only a trial finds out.
    triton = ScriptedTriton(TritonUnreachable("down"))
    engine = make_engine(triton, failure_threshold=2, probe_interval_s=0.02)
    await open_circuit(engine)
    calls = triton.calls
    triton.answer, triton.ready = TritonTurnError("model failed"), True
    await asyncio.sleep(0.3)  # probes, each "ready", each trial failed
    assert engine.breaker.is_open and triton.calls > calls
    calls = triton.calls
    assert await engine.submit(AUDIO, 16000) == pytest.approx(BACKUP_P)
    assert triton.calls <= calls + 1  # the turn went to the backup (at most a trial ran)
    triton.answer = 0.7  # the model is fixed: the next trial closes the circuit
    await until_state(engine, "closed")
    assert await engine.submit(AUDIO, 16000) == pytest.approx(0.7)


async def test_turns_during_a_trial_go_to_the_backup(make_engine):
    triton = ScriptedTriton(TritonUnreachable("down"))
    engine = make_engine(triton, failure_threshold=1, probe_interval_s=0.02)
    await open_circuit(engine)
    triton.answer, triton.ready, triton.delay_s = 0.9, True, 1.5  # a slow trial
    await until_state(engine, "half_open")
    calls = triton.calls
    answers = await asyncio.gather(*(engine.submit(AUDIO, 16000) for _ in range(5)))
    assert answers == pytest.approx([BACKUP_P] * 5) and triton.calls == calls
    await until_state(engine, "closed")


async def test_a_probe_that_raises_does_not_end_the_probing(make_engine):
    triton = ScriptedTriton(TritonUnreachable("down"))
    engine = make_engine(triton, failure_threshold=1, probe_interval_s=0.02)
    await open_circuit(engine)
    triton.ready = RuntimeError("the readiness call broke")
    await asyncio.sleep(0.2)  # several probes raise
    assert engine.breaker.is_open
    triton.answer, triton.ready = 0.6, True
    await until_state(engine, "closed")


async def test_no_turn_waits_past_the_deadline(make_engine):
    triton = ScriptedTriton(TimeoutError("slow"), delay_s=0.2)
    engine = make_engine(triton, backup_seconds=1.0, deadline_ms=400)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await engine.submit(AUDIO, 16000)
    assert time.monotonic() - started < 0.4 + 0.15


async def test_without_a_backup_the_analyzer_falls_back(make_engine):
    engine = make_engine(ScriptedTriton(TritonUnreachable("down")), backup_seconds=None)
    with pytest.raises(TritonUnreachable):
        await engine.submit(AUDIO, 16000)
    analyzer = SharedSmartTurnAnalyzer(engine=engine, settings=TurnSettings(fallback="complete"))
    analyzer.set_sample_rate(16000)
    for start in range(0, len(AUDIO), 320):
        analyzer.append_audio((AUDIO[start : start + 320] + 3000).tobytes(), True)
    state, metrics = await analyzer.analyze_end_of_turn()
    assert (state.name, metrics) == ("COMPLETE", None)


async def test_an_unreachable_triton_is_named_and_the_backup_serves_from_the_start():
    port = free_port()  # nothing listens there
    settings = TurnSettings(engine="triton", triton_url=f"127.0.0.1:{port}", model_path=None)
    engine = build_engine(settings.model_copy(update={"triton_timeout_ms": 2000}))
    try:
        with pytest.raises(TritonUnreachable, match=f"Triton at 127.0.0.1:{port} unreachable"):
            await engine.primary.submit(AUDIO, 16000)
        assert engine.wait_ready(60)  # the backup is warm; Triton is not: circuit open
        assert engine.breaker.is_open
        assert 0.0 <= await engine.submit(AUDIO, 16000) <= 1.0
    finally:
        engine.close()
