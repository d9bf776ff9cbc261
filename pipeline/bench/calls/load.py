"""One level of `bench calls`: N simulated callers at once against an agent, or a soak.

In: an AgentUnderTest (its URL: ws:// or sip:), a Scenario and N. Out: the level's summary
(summary.py). Without a duration each of the N callers places one call,
all at once. With `duration_s` (soak) each caller places call after call until the time is
up (a call under way finishes), so N calls stay in progress the whole time. Frame lag is
read from the agent's /metrics before and after; the memory of each process in its tree
is sampled every second (a soak compares the memory once every caller has finished a call
with that at the end), and the agent process's own CPU time every half second (agent_cpu.py
turns it into CPU per call).
"""

import asyncio
import logging
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from pipeline.bench.calls.agent_cpu import CpuSample, process_cpu_s
from pipeline.bench.calls.agent_probe import Buckets, read_buckets, tree_rss_by_role
from pipeline.bench.calls.agent_stages import stage_medians
from pipeline.bench.calls.agent_transcripts import caller_turn_ends
from pipeline.bench.calls.agent_under_test import AgentUnderTest
from pipeline.bench.calls.scenario import Scenario
from pipeline.bench.calls.scripted_call import (
    CallRecord,
    line_for,
    place_scenario_call,
    render_scenario,
)
from pipeline.bench.calls.summary import summarize
from pipeline.callers.utterance_audio import RenderedUtterance

log = logging.getLogger(__name__)

RSS_EVERY_S = 1.0
CPU_EVERY_S = 0.5


def _lag_buckets(agent: AgentUnderTest) -> Buckets | None:
    if not agent.metrics_url:
        return None
    try:
        return read_buckets(agent.metrics_url)
    except OSError as exc:
        log.warning("cannot read frame lag from %s: %s", agent.metrics_url, exc)
        return None


RssSample = tuple[float, dict[str, float]]  # monotonic time, MB per role


async def _sample(
    what: str, read: Callable[[], Any], clock: Callable[[], float], samples: list, every_s: float
) -> None:
    """Append (clock(), read()) every `every_s` until cancelled or a reading fails."""
    while True:
        try:
            samples.append((clock(), read()))
        except Exception as exc:  # the agent went away: the calls will say so
            log.warning("cannot read the agent's %s: %s", what, exc)
            return
        await asyncio.sleep(every_s)


async def _caller(
    agent: AgentUnderTest,
    scenario: Scenario,
    audio: list[RenderedUtterance],
    slot: int,
    until: float | None,
    first_ends: list[float],
) -> list[CallRecord]:
    """One caller: one call, or calls back to back until `until` (monotonic)."""
    new_line = line_for(agent.url)
    records = [await place_scenario_call(new_line, scenario, slot, audio)]
    first_ends.append(time.monotonic())
    while until is not None and time.monotonic() < until:
        records.append(await place_scenario_call(new_line, scenario, slot, audio))
    return records


async def run_level(
    agent: AgentUnderTest, scenario: Scenario, calls: int, duration_s: float | None = None
) -> dict:
    audio = render_scenario(scenario)  # before dialling: synthesis never delays a call
    before = _lag_buckets(agent)
    rss: list[RssSample] = []
    cpu: list[CpuSample] = []
    first_ends: list[float] = []
    pid = agent.pid
    samplers = []
    if pid is not None:
        memory_of, cpu_of = partial(tree_rss_by_role, pid), partial(process_cpu_s, pid)
        samplers = [
            asyncio.create_task(_sample("memory", memory_of, time.monotonic, rss, RSS_EVERY_S)),
            asyncio.create_task(_sample("CPU time", cpu_of, time.time, cpu, CPU_EVERY_S)),
        ]
    started = time.monotonic()
    until = started + duration_s if duration_s else None
    try:
        per_caller = await asyncio.gather(
            *(_caller(agent, scenario, audio, slot, until, first_ends) for slot in range(calls))
        )
    finally:
        for sampler in samplers:
            sampler.cancel()
    elapsed = time.monotonic() - started
    after = _lag_buckets(agent)
    records = sorted((r for rs in per_caller for r in rs), key=lambda r: r.call)
    memory, turn_ends = _window(rss, first_ends, until), caller_turn_ends(agent.transcripts)
    return summarize(
        calls,
        records,
        before,
        after,
        memory,
        elapsed,
        soak=until is not None,
        turn_ends=turn_ends,
        cpu_samples=cpu,
        stages=stage_medians(agent.transcripts, {r.call_id for r in records}),
    )


def _window(
    rss: list[RssSample], first_ends: list[float], until: float | None
) -> list[dict[str, float]]:
    """Memory samples to compare: a soak's from when every caller's first call ended (all
    pipelines built once) to its deadline, both under the same load; otherwise all."""
    if until is None or not first_ends:
        return [roles for _, roles in rss]
    warm = max(first_ends)
    loaded = [roles for at, roles in rss if warm <= at <= until]
    return loaded or [roles for _, roles in rss]
