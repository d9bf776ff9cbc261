"""The shared batching engine on the real int8 Smart Turn model (CPU), against stock Pipecat."""

import asyncio
import threading

import numpy as np
import pytest
from turn_clips import stock_probability, turn_clips

from models.onnx_runner import OnnxRunner
from models.smart_turn_file import locate
from pipeline.turn.local_engine import BatchingTurnEngine, TurnEngineOverloaded


@pytest.fixture(scope="module")
def runner():
    return OnnxRunner(locate().path)


@pytest.fixture
def engine(runner):
    engine = BatchingTurnEngine(runner, max_batch=8, max_wait_ms=5, deadline_ms=120_000)
    engine.wait_ready()
    yield engine
    engine.close()


async def test_probabilities_match_stock_pipecat_at_16k_and_8k(engine):
    clips = turn_clips()
    ours = await asyncio.gather(*(engine.submit(a, r) for a, r in clips.values()))
    for (name, (audio, rate)), p in zip(clips.items(), ours, strict=True):
        assert abs(p - stock_probability(audio, rate)) <= 1e-3, name
    # The clips were chosen to include both verdicts: the comparison is not vacuous.
    assert min(ours) < 0.5 < max(ours)


async def test_concurrent_requests_are_batched_and_batching_changes_nothing(runner, engine):
    clips = list(turn_clips().values())
    singles = [await engine.submit(a, r) for a, r in clips]
    batches_before = engine.batches
    together = await asyncio.gather(*(engine.submit(a, r) for a, r in clips))
    assert engine.batches - batches_before < len(clips)
    np.testing.assert_allclose(together, singles, atol=1e-5)


def test_full_queue_fails_fast_and_the_accepted_complete(runner):
    engine = BatchingTurnEngine(runner, max_batch=1, queue_size=2)
    audio, rate = turn_clips()["piper0_16k"]
    accepted, refused = [], 0
    for _ in range(12):
        try:
            accepted.append(engine.submit_nowait(audio, rate))
        except TurnEngineOverloaded:
            refused += 1
    results = [future.result(timeout=60) for future in accepted]
    engine.close()
    assert refused >= 12 - 3  # at most one being scored plus two waiting
    assert results and all(0.0 <= p <= 1.0 for p in results)


async def test_cancelled_request_is_dropped_and_the_engine_goes_on(engine):
    audio, rate = turn_clips()["piper1_16k"]
    waiting = [asyncio.ensure_future(engine.submit(audio, rate)) for _ in range(6)]
    await asyncio.sleep(0)
    waiting[-1].cancel()
    done = await asyncio.gather(*waiting, return_exceptions=True)
    assert isinstance(done[-1], asyncio.CancelledError)
    assert all(isinstance(p, float) for p in done[:-1])
    assert isinstance(await engine.submit(audio, rate), float)


@pytest.mark.parametrize(
    ("audio", "rate", "error"),
    [
        (np.zeros((2, 1600), dtype=np.int16), 16000, ValueError),
        (np.zeros(1600, dtype=np.int32), 16000, TypeError),
        (np.zeros(1600, dtype=np.int16), 0, ValueError),
        (np.zeros(1600, dtype=np.int16), 10_000_000, ValueError),
        (np.full(1600, np.nan, dtype=np.float32), 16000, ValueError),
    ],
)
async def test_bad_audio_is_refused_with_a_clear_error(engine, audio, rate, error):
    with pytest.raises(error):
        await engine.submit(audio, rate)
    good, good_rate = turn_clips()["piper0_16k"]
    assert isinstance(await engine.submit(good, good_rate), float)


def test_safe_from_many_event_loops_in_many_threads(engine):
    audio, rate = turn_clips()["piper2_8k"]
    expected = stock_probability(audio, rate)
    results: list[float] = []

    def call() -> None:
        results.append(asyncio.run(engine.submit(audio, rate)))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 4
    assert max(abs(p - expected) for p in results) <= 1e-3


async def test_several_cpu_workers_share_one_session_and_agree(runner, engine):
    clips = list(turn_clips().values())
    two_workers = BatchingTurnEngine(runner, max_batch=2, workers=2, deadline_ms=120_000)
    try:
        spread = await asyncio.gather(*(two_workers.submit(a, r) for a, r in clips))
    finally:
        two_workers.close()
    single = await asyncio.gather(*(engine.submit(a, r) for a, r in clips))
    assert spread == single
    assert two_workers.clips == len(clips)
