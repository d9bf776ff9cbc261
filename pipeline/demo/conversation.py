"""The demo's scripted caller: says its lines over a PhoneLine, listens, records the call.

In: the agent's ws:// URL, the speech server's address (to transcribe the agent) and a
script of caller lines. Out: a `DemoCall`: the turns, in order (each agent turn carries the
latency from the caller's last word to the agent's first audio), and whether the agent hung
up (closed the line) after the script's last line, as it should after a goodbye. The caller
speech is piper (the same voice and settings every run), so runs are repeatable.
"""

import asyncio
import contextlib
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from pipeline.callers.line import PIPELINE_RATE
from pipeline.callers.transcribe import transcribe
from pipeline.callers.voice import synthesize
from pipeline.callers.websocket_line import PhoneLine


@dataclass(frozen=True)
class CallerLine:
    """What the caller says; `parts` are spoken with `pause_s` of silence between them."""

    parts: tuple[str, ...]
    pause_s: float = 0.0

    @property
    def text(self) -> str:
        return " ... ".join(self.parts) if self.pause_s else " ".join(self.parts)

    def audio(self) -> np.ndarray:
        pause = np.zeros(int(PIPELINE_RATE * self.pause_s), dtype=np.int16)
        pieces = []
        for i, part in enumerate(self.parts):
            speech = synthesize(part, PIPELINE_RATE)
            pieces += [pause, speech] if i else [speech]
        return np.concatenate(pieces)


# The demo call: a question, an order number given after a mid-sentence pause, a goodbye
# (the agent says goodbye and hangs up).
DEMO_SCRIPT = (
    CallerLine(("Hi, I am calling to check on an order.",)),
    CallerLine(("My order number is, um,", "one two three four, please."), pause_s=1.0),
    CallerLine(("Great, thank you. That is all, goodbye.",)),
)


@dataclass
class Turn:
    role: str  # "caller" or "agent"
    text: str
    latency_ms: float | None = None  # agent turns: caller's last word -> agent's first audio
    stages_ms: dict[str, float] | None = None  # where latency_ms went (agent's turn_stages)
    heard_at: float | None = field(default=None, repr=False)  # epoch of the first audio heard

    def as_dict(self) -> dict:
        """The JSON form (without heard_at, which only joins the agent's events)."""
        turn = asdict(self)
        del turn["heard_at"]
        return turn


@dataclass
class DemoCall:
    turns: list[Turn]
    agent_hung_up: bool  # the agent closed the line after the script's last line


def trailing_silence_s(audio: np.ndarray, threshold: int = 500) -> float:
    """Seconds of quiet after the last loud sample (piper pads its output)."""
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > threshold)
    last = loud[-1] + 1 if len(loud) else 0
    return (len(audio) - last) / PIPELINE_RATE


async def _agent_turn(
    line: PhoneLine, since: float, speech_server: str, timeout_s: float
) -> Turn | None:
    packets = await line.wait_agent_turn(since, timeout_s=timeout_s)
    if not packets:
        return None
    pcm = np.concatenate([p.pcm for p in packets])
    text = await asyncio.to_thread(transcribe, pcm, speech_server)
    first_speech = next(p.at for p in packets if p.speech)
    heard_at = time.time() - (time.monotonic() - first_speech)
    return Turn("agent", text, round((first_speech - since) * 1000, 1), heard_at=heard_at)


async def place_call(
    url: str,
    speech_server: str,
    script: tuple[CallerLine, ...] = DEMO_SCRIPT,
    timeout_s: float = 60.0,
    hang_up_within_s: float = 10.0,
) -> DemoCall:
    """Call the agent, follow the script, then wait up to `hang_up_within_s` for the agent to
    hang up (else the caller does); the greeting is an agent turn without latency.

    Raises RuntimeError when the agent never answers a caller line."""
    turns: list[Turn] = []
    audio = [line.audio() for line in script]  # synthesized before dialling: no gaps mid-call
    async with PhoneLine(url) as line:
        greeting = await _agent_turn(line, time.monotonic(), speech_server, timeout_s)
        if greeting:
            turns.append(Turn("agent", greeting.text))
        for caller, pcm in zip(script, audio, strict=True):
            if line.closed.is_set():
                break
            _, sent = await line.say(pcm)
            last_word = sent - trailing_silence_s(pcm)
            turns.append(Turn("caller", caller.text))
            answer = await _agent_turn(line, last_word, speech_server, timeout_s)
            if answer is None:
                raise RuntimeError(f"the agent did not answer {caller.text!r} in {timeout_s} s")
            turns.append(answer)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(line.closed.wait(), hang_up_within_s)
        return DemoCall(turns, line.closed.is_set())
