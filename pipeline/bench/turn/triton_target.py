"""The Triton phase of `switchboard bench turn`: the Triton to measure, and what it did.

`triton_target(url, turn, progress)` gives the Triton to measure: the one at `url`, or a
`switchboard turn-server` with the run's turn settings, started on free local ports for the
phase and stopped after it.
`measured(phase, url, server)` runs one load phase and adds what Triton reports: the batch
sizes its dynamic batcher formed (model executions by batch size, from Triton's statistics,
read once they have settled, the phase's warm-up round included), the mean batch, the mean
time of a batch in each of Triton's stages (input, infer: our Python and the model, output)
and of a request in its queue, and for a server we started, the memory of all its processes
and the model's own time for a batch of the mean size in this process on the server's device
(`model_us_per_batch`): the infer stage beyond it is what Triton's Python side adds per batch.
"""

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from pipeline.bench.turn.turn_server_process import (
    BATCH_STAGES,
    TurnServerProcess,
    batch_sizes,
    stage_totals,
)
from pipeline.settings import TurnSettings


@contextmanager
def triton_target(
    url: str | None, turn: TurnSettings, progress: Callable[[str], None]
) -> Iterator[tuple[str, TurnServerProcess | None]]:
    """(url, None) for a given Triton; else a fresh turn-server for this phase, with the run's
    turn settings (device, batching, threads), stopped after it."""
    if url:
        yield url, None
        return
    server = TurnServerProcess(device=turn.device, env=_settings_env(turn))
    took = server.start(progress)
    progress(f"turn-server ready in {took:.1f} s at {server.url}")
    try:
        yield server.url, server
    finally:
        server.stop()


def _settings_env(turn: TurnSettings) -> dict[str, str]:
    """The server-side turn settings as SWITCHBOARD_TURN__* variables."""
    keys = ("max_batch", "cpu_max_batch", "max_wait_ms", "cpu_threads", "model_path")
    values = turn.model_dump(mode="json", include=set(keys))
    return {f"SWITCHBOARD_TURN__{k.upper()}": str(v) for k, v in values.items() if v is not None}


def measured(
    phase: Callable[[], dict],
    url: str,
    server: TurnServerProcess | None = None,
    turn: TurnSettings | None = None,
) -> dict:
    before, stages_before = _batch_sizes(url), _stage_totals(url)
    result = phase()
    after, stages_after = _settled(lambda: (_batch_sizes(url), _stage_totals(url)))
    if stages_before is not None and stages_after is not None:
        result.update(_stage_means(stages_before, stages_after))
    if before is not None and after is not None:
        formed = {size: n - before.get(size, 0) for size, n in sorted(after.items())}
        formed = {size: n for size, n in formed.items() if n > 0}
        executions = sum(formed.values())
        requests = sum(size * n for size, n in formed.items())
        result["batch_sizes"] = formed
        result["mean_batch"] = requests / executions if executions else float("nan")
    if server is not None:
        result["server_rss_mb"] = server.rss_mb()
        if turn is not None and result.get("mean_batch", 0) >= 1:
            batch = round(result["mean_batch"])
            result["model_us_per_batch"] = model_us_per_batch(turn, server.device, batch)
    return result


def model_us_per_batch(turn: TurnSettings, device: str, batch: int, repeats: int = 20) -> float:
    """The model's own time for `batch` 3-s turns (µs, median of `repeats`), run here with the
    runner the turn-server builds from `turn` on `device`."""
    from models.runner import create_runner, warm_up

    runner = create_runner(device, turn.model_path, turn.cpu_threads, turn.max_batch)  # type: ignore[arg-type]
    warm_up(runner)
    segments = [np.zeros(3 * 16000, np.int16)] * batch
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        runner.launch(segments).result()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e6


def _stage_means(before: dict[str, int], after: dict[str, int]) -> dict:
    """Mean µs per batch in each execution stage, and per request in the queue."""
    delta = {key: after[key] - before[key] for key in after}
    executions, requests = delta["executions"], delta["requests"]
    per_batch = {
        stage.removeprefix("compute_"): delta[stage] / executions / 1000 if executions else None
        for stage in BATCH_STAGES
    }
    queue = delta["queue"] / requests / 1000 if requests else None
    return {"server_us_per_batch": per_batch, "queue_us_per_request": queue}


def _settled(read: Callable[[], tuple], every_s: float = 0.1, within_s: float = 2.0) -> tuple:
    """`read()` once two reads `every_s` apart agree (at most `within_s`): Triton records a
    batch's statistics just after it has answered, so a read right after the phase's last
    answer can miss that batch."""
    last, deadline = read(), time.monotonic() + within_s
    while time.monotonic() < deadline:
        time.sleep(every_s)
        now = read()
        if now == last:
            return now
        last = now
    return last


def _stage_totals(url: str) -> dict[str, int] | None:
    try:
        return stage_totals(url)
    except Exception:  # noqa: BLE001 - as _batch_sizes
        return None


def _batch_sizes(url: str) -> dict[int, int] | None:
    """None when the Triton at `url` keeps its statistics to itself (another site's Triton)."""
    try:
        return batch_sizes(url)
    except Exception:  # noqa: BLE001 - statistics are a bonus; the phase's figures stand alone
        return None
