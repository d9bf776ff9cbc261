"""One simulated caller following a scenario over a real phone line to the agent.

In: a factory of the line to dial on (a PhoneLine over the agent's WebSocket media stream or
a SipPhoneLine over SIP/RTP: `line_for` picks it from the URL) and a Scenario
(scenario.py). Out: a CallRecord: how the call ended, each caller turn judged (false
interruption, missed turn, response latency: call_timeline.py), or the error that failed
the call.

The caller waits for the greeting, then plays the steps in order: an utterance, then waits
for the answer (up to the scenario's answer_within_s) and for the agent to fall quiet; a
barge-in or hang-up `after_agent_ms` after the agent starts talking; DTMF keyed; silence
kept. Caller audio is rendered before dialling, so nothing is synthesized mid-call.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from pipeline.bench.calls.call_timeline import CallerTurn, TurnOutcome, agent_bursts, judge_turn
from pipeline.bench.calls.scenario import (
    BargeInStep,
    DtmfStep,
    HangUpStep,
    Scenario,
    SilenceStep,
    Utterance,
)
from pipeline.callers.paced_line import PacedLine
from pipeline.callers.utterance_audio import RenderedUtterance, render_utterance
from pipeline.callers.websocket_line import PhoneLine

QUIET_S = 1.0  # the agent has finished talking after this much quiet
QUIET_TIMEOUT_S = 60.0  # an agent still talking after this much: go on anyway
GREETING_TIMEOUT_S = 60.0


@dataclass
class CallRecord:
    call: int
    scenario: str
    call_id: str = ""  # the line's stream_sid, as the agent's logs and transcripts name the call
    dialled_at: float = 0.0  # wall-clock (epoch) seconds; the turn times count from here
    ended_by: str = ""  # "caller" (script done or hang-up), "agent" (it closed the line)
    error: str | None = None  # why the call failed
    duration_s: float = 0.0
    turns: list[dict] = field(default_factory=list)  # each judged caller turn
    agent_talk_s: list[tuple[float, float]] = field(default_factory=list)  # bursts, from dial
    send_lag_s: list[float] = field(default_factory=list, repr=False)  # per packet, see PacedLine

    @property
    def failed(self) -> bool:
        return self.error is not None

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "send_lag_s"}


def render_scenario(scenario: Scenario) -> list[RenderedUtterance]:
    """Every utterance of the scenario as audio, in order (piper; cached per process)."""
    return [
        render_utterance(u.utterance, u.pauses_ms, scenario.seed) for u in scenario.utterances()
    ]


async def _until_speech(line: PacedLine, since: float, timeout_s: float) -> float | None:
    """When the agent's first speech after `since` arrived; None if none within timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not line.closed.is_set():
        spoken = line.speech_since(since)
        if spoken:
            return spoken[0].at
        await asyncio.sleep(0.02)
    return None


async def _until_quiet(line: PacedLine) -> None:
    deadline = time.monotonic() + QUIET_TIMEOUT_S
    while time.monotonic() < deadline and not line.closed.is_set():
        if not line.speech_since(time.monotonic() - QUIET_S):
            return
        await asyncio.sleep(0.05)


async def _say(line: PacedLine, rendered: RenderedUtterance) -> tuple[tuple[float, float], ...]:
    first_sent, _ = await line.say(rendered.audio)
    return tuple((first_sent + start, first_sent + end) for start, end in rendered.speech_spans)


async def _play(
    line: PacedLine, scenario: Scenario, audio: list[RenderedUtterance]
) -> list[CallerTurn]:
    """Play the steps; returns the caller turns with their absolute fragment times."""
    turns: list[CallerTurn] = []
    spoken = iter(audio)
    waiting_since: float | None = time.monotonic()  # an answer (or greeting) is due
    timeout = scenario.answer_within_s
    for i, step in enumerate(scenario.steps):
        if line.closed.is_set():
            break
        onset = None
        if waiting_since is not None:
            limit = GREETING_TIMEOUT_S if i == 0 else timeout
            onset = await _until_speech(line, waiting_since, limit)
        if isinstance(step, BargeInStep | HangUpStep):
            after = step.barge_in if isinstance(step, BargeInStep) else step.hang_up
            if waiting_since is None:  # after DTMF or silence: wait for the agent to talk
                onset = await _until_speech(line, time.monotonic(), timeout)
            if onset is not None:
                await asyncio.sleep(
                    max(0.0, onset + after.after_agent_ms / 1000 - time.monotonic())
                )
            if isinstance(step, HangUpStep):
                return turns
        elif waiting_since is not None:
            await _until_quiet(line)
        waiting_since = None
        if isinstance(step, Utterance | BargeInStep):
            spans = await _say(line, next(spoken))
            turns.append(CallerTurn(spans, timeout, barge_in=isinstance(step, BargeInStep)))
            waiting_since = spans[-1][1]
        elif isinstance(step, DtmfStep):
            await line.press(step.dtmf)
        elif isinstance(step, SilenceStep):
            await asyncio.sleep(step.silence_ms / 1000)
    if waiting_since is not None and not line.closed.is_set():
        await _until_speech(line, waiting_since, timeout)  # the last answer
    return turns


def _judged(turn: CallerTurn, outcome: TurnOutcome, dialled: float) -> dict:
    latency = None if outcome.latency_s is None else round(outcome.latency_s * 1000, 1)
    return {
        "first_word_s": round(turn.first_word - dialled, 3),
        "last_word_s": round(turn.last_word - dialled, 3),
        "barge_in": turn.barge_in,
        "false_interruption": outcome.false_interruption,
        "missed": outcome.missed,
        "latency_ms": latency,
    }


def line_for(url: str) -> Callable[[], PacedLine]:
    """A new caller's line for each call: SIP/RTP for sip:HOST:PORT, else the WebSocket."""
    if url.startswith("sip:"):
        from pipeline.callers.sip_line import SipPhoneLine

        return lambda: SipPhoneLine(url)
    return lambda: PhoneLine(url)


async def place_scenario_call(
    new_line: Callable[[], PacedLine],
    scenario: Scenario,
    call: int,
    audio: list[RenderedUtterance] | None = None,
) -> CallRecord:
    """Place one call on a line from `new_line`; never raises for the call's own failures
    (they go in `error`)."""
    record = CallRecord(call=call, scenario=scenario.name)
    audio = audio if audio is not None else render_scenario(scenario)
    dialled, record.dialled_at = time.monotonic(), time.time()
    try:
        line = new_line()
        record.call_id = line.stream_sid  # type: ignore[attr-defined]
        async with line:
            turns = await _play(line, scenario, audio)
            record.ended_by = "agent" if line.closed.is_set() else "caller"
    except Exception as exc:  # a refused or broken connection fails this call only
        record.error = f"{type(exc).__name__}: {exc}"
        record.duration_s = round(time.monotonic() - dialled, 2)
        return record
    record.duration_s = round(time.monotonic() - dialled, 2)
    record.send_lag_s = line.send_lag
    bursts = agent_bursts([p.at for p in line.packets if p.speech])
    record.turns = [_judged(t, judge_turn(t, bursts), dialled) for t in turns]
    record.agent_talk_s = [(round(a - dialled, 3), round(b - dialled, 3)) for a, b in bursts]
    return record
