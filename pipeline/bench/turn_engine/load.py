"""Load on a turn engine from event loops in this process, as an agent's calls would ask.

In: an engine, the turn segments to submit, and either a number of closed-loop submitters
(each asks again as soon as it has its answer) or an open-loop offered rate (Poisson arrivals,
each turn timed from when it was due, so a slow engine cannot slow its own clock; arrivals
less than a millisecond apart are asked together). Submitters
are spread over `loops` event loops, each in its own thread. Out: a `LoadResult` of the
measured window (after `warm_up_s`): completed turns, latencies, and the refused (queue full),
expired (past the deadline) and failed requests, which are counted, never raised.
"""

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from models.clip import MODEL_SAMPLE_RATE
from pipeline.turn.interface import TurnEngine
from pipeline.turn.local_engine import TurnEngineOverloaded

DRAIN_S = 5.0  # after the window, how long open-loop turns still in flight may take
TICK_S = 0.001  # open loop: arrivals due sooner than this are asked at once, not slept for
YIELD_EVERY = 32  # open loop: arrivals asked back to back before the loop runs other tasks


@dataclass
class LoadResult:
    window_s: float
    latencies: list[float] = field(default_factory=list)  # seconds, turns done in the window
    refused: int = 0
    expired: int = 0
    errors: int = 0

    def merge(self, other: "LoadResult") -> None:
        self.latencies += other.latencies
        self.refused += other.refused
        self.expired += other.expired
        self.errors += other.errors


class _Window:
    """The run's clock: when measuring starts and when the load stops."""

    def __init__(self, warm_up_s: float, seconds: float) -> None:
        self.start = time.monotonic() + warm_up_s
        self.end = self.start + seconds

    def record(self, result: LoadResult, due: float, done: float) -> None:
        if self.start <= done < self.end:
            result.latencies.append(done - due)


async def _ask(engine: TurnEngine, segment: np.ndarray, result: LoadResult) -> bool:
    """One turn; False when it was refused, expired or failed (counted in `result`)."""
    try:
        await engine.submit(segment, MODEL_SAMPLE_RATE)
        return True
    except TurnEngineOverloaded:
        result.refused += 1
    except TimeoutError:
        result.expired += 1
    except Exception:  # noqa: BLE001 - a failed turn is a figure of the run, not its end
        result.errors += 1
    return False


async def _closed_loop(
    engine: TurnEngine, segments: list[np.ndarray], submitters: range, window: _Window
) -> LoadResult:
    result = LoadResult(window.end - window.start)

    async def submitter(index: int) -> None:
        turn = index
        while (due := time.monotonic()) < window.end:
            if await _ask(engine, segments[turn % len(segments)], result):
                window.record(result, due, time.monotonic())
            else:
                await asyncio.sleep(0.001)  # refused or failed: do not spin
            turn += len(submitters)

    await asyncio.gather(*(submitter(i) for i in submitters))
    return result


async def _open_loop(
    engine: TurnEngine, segments: list[np.ndarray], rate: float, seed: int, window: _Window
) -> LoadResult:
    result = LoadResult(window.end - window.start)
    rng = np.random.default_rng(seed)
    in_flight: set[asyncio.Task] = set()

    async def turn(segment: np.ndarray, due: float) -> None:
        asked = time.monotonic()  # up to TICK_S before it was due, or late when the loop lags
        if await _ask(engine, segment, result):
            window.record(result, min(due, asked), time.monotonic())

    due, index = time.monotonic(), seed
    while due < window.end:
        due += rng.exponential(1 / rate)
        wait = due - time.monotonic()
        if wait > TICK_S:
            await asyncio.sleep(wait)
        elif index % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # let the turns already asked run
        task = asyncio.create_task(turn(segments[index % len(segments)], due))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        index += 1
    if in_flight:
        await asyncio.wait(in_flight, timeout=DRAIN_S)
    return result


def run_load(
    engine: TurnEngine,
    segments: list[np.ndarray],
    *,
    concurrency: int = 0,
    rate: float = 0.0,
    loops: int = 2,
    seconds: float = 5.0,
    warm_up_s: float = 1.0,
) -> LoadResult:
    """Closed loop with `concurrency` submitters, or open loop at `rate` turns/s (one of the
    two), over `loops` event loops; returns the measured window's figures."""
    if (concurrency > 0) == (rate > 0):
        raise ValueError("give either concurrency or rate")
    window = _Window(warm_up_s, seconds)

    def loop_thread(index: int) -> LoadResult:
        if concurrency:
            mine = range(index, concurrency, loops)
            return asyncio.run(_closed_loop(engine, segments, mine, window))
        return asyncio.run(_open_loop(engine, segments, rate / loops, index, window))

    with ThreadPoolExecutor(loops, thread_name_prefix="bench-loop") as pool:
        results = list(pool.map(loop_thread, range(loops)))
    total = LoadResult(seconds)
    for result in results:
        total.merge(result)
    return total
