"""`switchboard demo --interactive` in headless Chromium, as a person uses it: open the page,
click "Connect", speak (Chromium's fake microphone plays a piper WAV), hear the agent.

Evidence comes from the browser side: the test taps the WebRTC stream the page plays in its
<audio> element (Web Audio, through the DevTools protocol), and the speech server transcribes
what the page heard; the greeting and the agent's answer to the caller (as the agent logged
them) must both be in it. The turn console (RTVI messages) must show the greeting's words,
the caller's recognized words, a turn ask with its probability and the answer's latency
breakdown; its screenshot is saved (build/test-artifacts/console.png) for people to look at.
Then the demo gets SIGTERM with the call still up: it must end within 30 s and the page must
show the hang-up. Chromium comes from Debian (`make peers`
installs it); the machine needs a network address besides loopback (ICE does not use it).
Pipecat's prebuilt page never sent an offer here: it loads Daily's call-machine bundle from
c.daily.co first, so the demo serves its own page (pipeline/demo/page).
"""

import asyncio
import contextlib
import re
import subprocess
import sys
import time
import urllib.request
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
from agent_fixture import REPO, agent_env
from aioice.ice import get_host_addresses
from browser_cdp import RECORD_RATE, Page, open_page
from speech_server_fixture import free_port

from pipeline.agent.tools import GREETING
from pipeline.callers.transcribe import transcribe
from pipeline.callers.voice import synthesize

pytestmark = pytest.mark.slow

CALLER_LINE = "Hi, I am calling to check on my order, please."
ANSWER_TIMEOUT_S = 150
STATE = "document.body?.dataset.state"  # what the page shows: disconnected, connected, ...
CONSOLE = """(() => ({
  transcript: document.querySelector("#transcript").innerText,
  caller: [...document.querySelectorAll("#transcript .caller .words")].map((e) => e.innerText),
  asks: [...document.querySelectorAll("#turns .turn-ask")].map((e) => e.innerText),
  latency: [...document.querySelectorAll("#turns .latency")].map((e) => e.innerText),
}))()"""
SCREENSHOT = REPO / "build" / "test-artifacts" / "console.png"


def _write_caller_wav(path: Path) -> None:
    """Quiet while the agent greets, the caller's line, then quiet while it answers."""
    rate = 16000
    line = synthesize(CALLER_LINE, rate)
    quiet = np.zeros(rate * 9, dtype=np.int16)
    audio = np.concatenate([quiet, line, np.zeros(rate * 60, dtype=np.int16)])
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(audio.tobytes())


def _wait_http(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"process exited with {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(url)


def _stop(demo: subprocess.Popen) -> float:
    """SIGTERM, as Ctrl-C; returns how long the demo took to end (its call and children)."""
    started = time.monotonic()
    demo.terminate()
    demo.wait(timeout=30)
    return time.monotonic() - started


@contextlib.contextmanager
def interactive_demo(tmp: Path, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, str]]:
    """`switchboard demo --interactive` logging to tmp/demo.log, once its page answers: the
    process and the page's URL. On exit, whatever of it is left (after SIGTERM, or after a
    failure) is killed, its children too."""
    page_port = free_port()
    command = [sys.executable, "-m", "pipeline.cli", "demo", "--interactive"]
    command += ["--port", str(page_port), "--log-dir", str(tmp)]
    with (tmp / "demo.log").open("wb") as out:
        demo = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=out)
    family = [psutil.Process(demo.pid)]
    try:
        url = f"http://127.0.0.1:{page_port}/"
        _wait_http(url, demo, timeout_s=300)
        family += family[0].children(recursive=True)
        yield demo, url
    finally:
        for process in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()


def _turns(log: str) -> list[tuple[str, str]]:
    """The conversation the agent logged: (role, text) per finished turn."""
    return re.findall(r"\b(caller|agent): (.*)", log)


def _answer(turns: list[tuple[str, str]]) -> str | None:
    """The agent's first non-empty turn after the caller's first non-empty turn."""
    roles = [role for role, text in turns if text.strip()]
    texts = [text for _, text in turns if text.strip()]
    if "caller" not in roles or "agent" not in roles[roles.index("caller") :]:
        return None
    first_caller = roles.index("caller")
    return texts[first_caller + roles[first_caller:].index("agent")]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9']+", text.lower()))


def _share_heard(said: str, heard: str) -> float:
    return len(_words(said) & _words(heard)) / len(_words(said))


async def _wait_for(page: Page, expression: str, expected: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while (value := await page.evaluate(expression)) != expected:
        assert time.monotonic() < deadline, f"{expression} is {value!r}, not {expected!r}"
        await asyncio.sleep(0.2)


async def _call_from_browser(
    url: str, wav: Path, tmp: Path, demo: subprocess.Popen, speech_server: str
) -> dict:
    """Click Connect, record what the page plays until the agent has answered, transcribe
    it, then stop the demo with the call still up."""
    demo_log = tmp / "demo.log"
    async with open_page(url, wav, tmp / "profile", free_port()) as page:
        await _wait_for(page, STATE, "disconnected", timeout_s=60)
        await page.click("#connect")
        await _wait_for(page, "!!document.querySelector('#agent').srcObject", True, 30)
        assert await page.start_recording("#agent") == "running"
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while _answer(_turns(demo_log.read_text(errors="replace"))) is None:
            assert time.monotonic() < deadline, demo_log.read_text(errors="replace")[-4000:]
            await asyncio.sleep(1)
        await page.wait_quiet(quiet_s=1.5, timeout_s=30)  # the answer has finished playing
        heard = await page.recording()
        state = await page.evaluate(STATE)
        console = await _console(page, timeout_s=20)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(SCREENSHOT)
        heard_text = transcribe(heard, speech_server)
        stop_s = _stop(demo)
        deadline = time.monotonic() + 20  # the page notices the hang-up
        while (state_after_stop := await page.evaluate(STATE)) == "connected":
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    return {
        "console": console,
        "heard": heard,
        "heard_text": heard_text,
        "state": state,
        "stop_s": stop_s,
        "state_after_stop": state_after_stop,
    }


async def _console(page: Page, timeout_s: float) -> dict:
    """What the turn console shows, once it shows an ask and a latency breakdown (or at the
    timeout)."""
    deadline = time.monotonic() + timeout_s
    while not ((shown := await page.evaluate(CONSOLE))["asks"] and shown["latency"]):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    return shown


def _voiced_s(pcm: np.ndarray, frame_s: float = 0.02) -> float:
    """Seconds of 20 ms frames louder than quiet (RMS over 300)."""
    frame = int(RECORD_RATE * frame_s)
    frames = pcm[: len(pcm) // frame * frame].astype(np.float64).reshape(-1, frame)
    return float(np.count_nonzero(np.sqrt((frames**2).mean(axis=1)) > 300) * frame_s)


def test_browser_caller_hears_the_agent_answer(tmp_path: Path) -> None:
    # aiortc's ICE offers no loopback candidates: the call needs another network address.
    assert get_host_addresses(use_ipv4=True, use_ipv6=True), "only loopback: ICE cannot connect"
    wav, env = tmp_path / "caller.wav", agent_env()
    _write_caller_wav(wav)
    speech_server = f"127.0.0.1:{env['SWITCHBOARD_SPEECH_SERVER__PORT']}"
    with interactive_demo(tmp_path, env) as (demo, url):
        call = asyncio.run(_call_from_browser(url, wav, tmp_path, demo, speech_server))
    turns = _turns((tmp_path / "demo.log").read_text(errors="replace"))
    answer, heard_text = _answer(turns), call["heard_text"]
    report = (
        f"turns {turns}\npage heard {_voiced_s(call['heard']):.1f} s voiced: {heard_text!r}\n"
        f"demo stopped in {call['stop_s']:.1f} s; page state then {call['state_after_stop']!r}"
    )
    print(report)
    assert call["state"] == "connected", report
    assert call["state_after_stop"] in ("disconnected", "the agent hung up"), report
    assert "order" in _words(next(text for role, text in turns if role == "caller")), report
    assert _share_heard(GREETING, heard_text) >= 0.6, report
    assert answer and _share_heard(answer, heard_text) >= 0.6, report
    # The console: the greeting's words, the caller's words, a turn ask, a latency breakdown.
    console = call["console"]
    report += f"\nconsole {console}\nscreenshot {SCREENSHOT}"
    assert _share_heard(GREETING, console["transcript"]) >= 0.6, report
    assert any("order" in _words(line) for line in console["caller"]), report
    assert any(re.search(r"p=[01]\.\d\d (complete|incomplete)", a) for a in console["asks"]), report
    assert any(
        "ms from your last word" in lat and "llm_first_token" in lat for lat in console["latency"]
    ), report
    assert SCREENSHOT.read_bytes().startswith(b"\x89PNG"), report
