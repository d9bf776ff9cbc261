"""One engine under load: N simulated calls, each asking for end-of-turn verdicts at once.

Runs inside a fresh worker process per engine (so memory figures don't bleed between
engines). Each call owns a turn analyzer (stock: Pipecat's LocalSmartTurnAnalyzerV3, one ONNX
session and thread per call; local: SharedSmartTurnAnalyzer on the process-wide engine; triton:
the same analyzer on the Triton client, one gRPC channel for all calls), feeds
it a turn's audio in 20 ms frames as Pipecat's transport would, asks `analyze_end_of_turn()`,
and repeats. Out: per-request latencies of the turns the model scored, probabilities in
(call, round) order (None where the model gave none), the turns decided without the model and
why (refused: queue full, expired: past the deadline, errors), RSS, and what ran the model.

A turn without a probability never stops the run: the analyzer's fallback (or an exception
the analyzer let through) is counted, and the other calls go on.
"""

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np
import psutil

from pipeline.bench.pipecat_logs import quiet_pipecat_logs
from pipeline.callers.line import PACKET_S
from pipeline.settings import TurnSettings

# The analyzer's fallback reasons (switchboard_turn_fallbacks_total{reason}) → our names.
FALLBACK_REASONS = {"overloaded": "refused", "deadline": "expired", "error": "errors"}
OUTCOMES = ("refused", "expired", "errors", "fallbacks")
MEASURE_DEADLINE_MS = 600_000.0  # the default: measure every turn, let none expire


def _cpu_seconds(process: psutil.Process) -> float:
    """CPU time this process used, all threads: unlike wall time, neighbours barely move it."""
    times = process.cpu_times()
    return times.user + times.system


def _make_analyzer(
    engine: str, turn: TurnSettings, sample_rate: int, triton_url: str | None, live: bool
):
    """A stock or shared analyzer at `sample_rate`; `live`: keep the settings' deadline."""
    if engine == "stock":
        from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3

        analyzer = LocalSmartTurnAnalyzerV3()
    else:
        from pipeline.turn.analyzer import SharedSmartTurnAnalyzer

        settings = turn
        if not live:  # measure, never fall back
            settings = turn.model_copy(update={"deadline_ms": MEASURE_DEADLINE_MS})
        if engine == "triton":  # the agent side only: no in-process backup model
            settings = settings.model_copy(
                update={
                    "engine": "triton",
                    "triton_url": triton_url,
                    "triton_timeout_ms": turn.triton_timeout_ms if live else MEASURE_DEADLINE_MS,
                    "triton_failover": "fallback",
                }
            )
        analyzer = SharedSmartTurnAnalyzer(settings=settings)
    analyzer.set_sample_rate(sample_rate)
    return analyzer


@dataclass
class _Tally:
    """What one call saw: latencies of scored turns, probabilities (None: no model answer),
    and the exceptions the analyzer raised instead of answering (type: message)."""

    latencies: list[float] = field(default_factory=list)
    probabilities: list[float | None] = field(default_factory=list)
    raised: list[str] = field(default_factory=list)


async def _call(analyzer, clips: list[np.ndarray], rounds: int, offset: int, sample_rate: int):
    frame = int(sample_rate * PACKET_S)
    tally = _Tally()
    for r in range(rounds):
        audio = clips[(offset + r) % len(clips)]
        for start in range(0, len(audio), frame):
            analyzer.append_audio(audio[start : start + frame].tobytes(), True)
        started = time.perf_counter()
        try:
            _, metrics = await analyzer.analyze_end_of_turn()
        except Exception as exc:  # noqa: BLE001 - counted: one failed turn must not end the run
            metrics = None
            tally.raised.append(f"{type(exc).__name__}: {exc}")
        elapsed = time.perf_counter() - started
        probability = getattr(metrics, "probability", None)
        if probability is None:  # decided without the model (fallback) or failed
            tally.probabilities.append(None)
        else:
            tally.latencies.append(elapsed)
            tally.probabilities.append(float(probability))
        analyzer.clear()
    return tally


async def _load(analyzers, clips, rounds, sample_rate) -> list[_Tally]:
    jobs = [_call(a, clips, rounds, i, sample_rate) for i, a in enumerate(analyzers)]
    return await asyncio.gather(*jobs)


def _fallback_counts() -> dict[str, float]:
    """The analyzer's fallbacks so far in this process, by our outcome name."""
    from prometheus_client import REGISTRY

    counts = {}
    for reason, name in FALLBACK_REASONS.items():
        value = REGISTRY.get_sample_value("switchboard_turn_fallbacks_total", {"reason": reason})
        counts[name] = value or 0.0
    return counts


def outcomes(tallies: list[_Tally], before: dict[str, float], after: dict[str, float]) -> dict:
    """Per phase: fallbacks (turns with no probability), and why: refused, expired, errors
    (the analyzer's own fallback reasons, plus the exceptions it raised), and the first error."""
    counts = {name: int(after[name] - before[name]) for name in FALLBACK_REASONS.values()}
    raised = [message for tally in tallies for message in tally.raised]
    counts["errors"] += len(raised)
    counts["fallbacks"] = sum(p is None for tally in tallies for p in tally.probabilities)
    if raised:
        counts["first_error"] = raised[0]
    return counts


def runner_info(engine) -> dict | None:
    """The in-process engine's runner: class, device, dtype (None: the model file's own)."""
    runner = getattr(engine, "runner", None)
    if runner is None:
        return None
    dtype = getattr(runner, "dtype", None)
    return {
        "runner": type(runner).__name__,
        "device": getattr(runner, "device", None),
        "dtype": str(dtype).removeprefix("torch.") if dtype is not None else None,
    }


def _sent(triton) -> tuple[int, int]:
    """Requests a Triton client sent, and the audio bytes they carried."""
    return getattr(triton, "sent_requests", 0), getattr(triton, "sent_audio_bytes", 0)


def run_phase(
    engine: str,
    turn: TurnSettings,
    calls: int,
    rounds: int,
    clips: list[np.ndarray],
    sample_rate: int,
    triton_url: str | None = None,
    live: bool = False,
) -> dict:
    """Measure one engine (ours built from `turn`; for "triton": the Triton at `triton_url`;
    `live`: keep `turn.deadline_ms` instead of waiting for every answer). Returns latencies (s)
    of scored turns, probabilities (None: no model answer), refused/expired/errors/fallbacks
    counts of the measured rounds, wall and CPU time, RSS (MB) of this process, and for the
    in-process engine the mean batch it formed and its runner (device, dtype). A failed
    warm-up raises here, with its cause (the engine's wait_ready)."""
    quiet_pipecat_logs()
    process = psutil.Process()
    rss_idle = process.memory_info().rss
    analyzers = [_make_analyzer(engine, turn, sample_rate, triton_url, live) for _ in range(calls)]
    shared = getattr(analyzers[0], "_engine", None)
    # wait_ready raises with the cause when the model could not warm up.
    if engine == "local" and shared is not None and not shared.wait_ready(600):
        raise RuntimeError(f"the {engine} turn engine was not ready after 600 s")
    asyncio.run(_load(analyzers, clips, 1, sample_rate))  # warm-up: JIT, sessions, threads
    batches_before = getattr(shared, "batches", 0)
    triton = getattr(shared, "primary", None)  # the Triton client under the failover
    sent_before = _sent(triton)
    fallbacks_before = _fallback_counts()
    started, cpu_started = time.perf_counter(), _cpu_seconds(process)
    tallies = asyncio.run(_load(analyzers, clips, rounds, sample_rate))
    wall = time.perf_counter() - started
    cpu = _cpu_seconds(process) - cpu_started
    rss = process.memory_info().rss
    latencies = [x for tally in tallies for x in tally.latencies]
    extra: dict = {}
    if engine == "local":
        batches = getattr(shared, "batches", 0) - batches_before
        extra["mean_batch"] = len(latencies) / batches if batches else float("nan")
        extra["runner"] = runner_info(shared)
    if triton is not None:
        requests, audio_bytes = (a - b for a, b in zip(_sent(triton), sent_before, strict=True))
        extra["audio_bytes_per_request"] = audio_bytes / requests if requests else float("nan")
    return {
        **extra,
        **outcomes(tallies, fallbacks_before, _fallback_counts()),
        "latencies": latencies,
        "probabilities": [p for tally in tallies for p in tally.probabilities],
        "wall_s": wall,
        "cpu_s": cpu,
        "rss_mb": rss / 2**20,
        "rss_idle_mb": rss_idle / 2**20,
    }
