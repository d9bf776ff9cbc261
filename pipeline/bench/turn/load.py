"""One engine under load: N simulated calls, each asking for end-of-turn verdicts at once.

Runs inside a fresh worker process per engine (so memory figures don't bleed between
engines). Each call owns a turn analyzer (stock: Pipecat's LocalSmartTurnAnalyzerV3, one ONNX
session and thread per call; local: SharedSmartTurnAnalyzer on the process-wide engine; triton:
the same analyzer on the Triton client, one gRPC channel for all calls), feeds
it a turn's audio in 20 ms frames as Pipecat's transport would, asks `analyze_end_of_turn()`,
and repeats. Out: per-request latencies, probabilities in (call, round) order, RSS.
"""

import asyncio
import time

import numpy as np
import psutil

from pipeline.bench.pipecat_logs import quiet_pipecat_logs
from pipeline.callers.line import PACKET_S
from pipeline.settings import TurnSettings


def _cpu_seconds(process: psutil.Process) -> float:
    """CPU time this process used, all threads: unlike wall time, neighbours barely move it."""
    times = process.cpu_times()
    return times.user + times.system


def _make_analyzer(engine: str, turn: TurnSettings, sample_rate: int, triton_url: str | None):
    if engine == "stock":
        from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3

        analyzer = LocalSmartTurnAnalyzerV3()
    else:
        from pipeline.turn.analyzer import SharedSmartTurnAnalyzer

        settings = turn.model_copy(update={"deadline_ms": 600_000})  # measure, never fall back
        if engine == "triton":  # the agent side only: no in-process backup model
            settings = settings.model_copy(
                update={
                    "engine": "triton",
                    "triton_url": triton_url,
                    "triton_timeout_ms": 600_000,
                    "triton_failover": "fallback",
                }
            )
        analyzer = SharedSmartTurnAnalyzer(settings=settings)
    analyzer.set_sample_rate(sample_rate)
    return analyzer


async def _call(analyzer, clips: list[np.ndarray], rounds: int, offset: int, sample_rate: int):
    frame = int(sample_rate * PACKET_S)
    latencies, probabilities = [], []
    for r in range(rounds):
        audio = clips[(offset + r) % len(clips)]
        for start in range(0, len(audio), frame):
            analyzer.append_audio(audio[start : start + frame].tobytes(), True)
        started = time.perf_counter()
        _, metrics = await analyzer.analyze_end_of_turn()
        latencies.append(time.perf_counter() - started)
        probabilities.append(metrics.probability)
        analyzer.clear()
    return latencies, probabilities


async def _load(analyzers, clips, rounds, sample_rate):
    jobs = [_call(a, clips, rounds, i, sample_rate) for i, a in enumerate(analyzers)]
    return await asyncio.gather(*jobs)


def run_phase(
    engine: str,
    turn: TurnSettings,
    calls: int,
    rounds: int,
    clips: list[np.ndarray],
    sample_rate: int,
    triton_url: str | None = None,
) -> dict:
    """Measure one engine (ours built from `turn`; for "triton": the Triton at `triton_url`);
    returns latencies (s), probabilities, wall time, RSS (MB) of this process, and for the
    in-process engine the mean batch it formed."""
    quiet_pipecat_logs()
    process = psutil.Process()
    rss_idle = process.memory_info().rss
    analyzers = [_make_analyzer(engine, turn, sample_rate, triton_url) for _ in range(calls)]
    asyncio.run(_load(analyzers, clips, 1, sample_rate))  # warm-up: JIT, sessions, threads
    shared = getattr(analyzers[0], "_engine", None)
    batches_before = getattr(shared, "batches", 0)
    started, cpu_started = time.perf_counter(), _cpu_seconds(process)
    results = asyncio.run(_load(analyzers, clips, rounds, sample_rate))
    wall = time.perf_counter() - started
    cpu = _cpu_seconds(process) - cpu_started
    rss = process.memory_info().rss
    extra = {}
    if engine == "local":
        extra["mean_batch"] = calls * rounds / max(1, shared.batches - batches_before)
    return {
        **extra,
        "latencies": [x for lat, _ in results for x in lat],
        "probabilities": [p for _, probs in results for p in probs],
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_mb": rss / 2**20,
        "rss_idle_mb": rss_idle / 2**20,
    }
