"""The agent hangs up a browser call: `switchboard demo --interactive` in headless Chromium,
a caller who stays silent (the fake microphone plays silence). The agent greets, prompts
after agent.idle_prompt_s, says goodbye after agent.idle_hangup_s and ends the call; the
WebRTC connection closes and the page shows that the agent hung up, while the demo goes on
serving (the page can call again)."""

import asyncio
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from agent_fixture import agent_env
from aioice.ice import get_host_addresses
from browser_cdp import open_page
from speech_server_fixture import free_port
from test_demo_browser import STATE, _wait_for, _wait_http, interactive_demo

pytestmark = pytest.mark.slow

PAGE_NOTICES_S = 10  # from the agent's hang-up to the page showing it


def _write_silence(path: Path, seconds: int = 120) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(np.zeros(16000 * seconds, np.int16).tobytes())


async def _silent_call(url: str, wav: Path, tmp: Path, log: Path) -> dict:
    """Connect, stay silent until the agent logs its hang-up; what the page shows then."""
    async with open_page(url, wav, tmp / "profile", free_port()) as page:
        await _wait_for(page, STATE, "disconnected", timeout_s=60)
        await page.click("#connect")
        await _wait_for(page, STATE, "connected", timeout_s=60)
        deadline = time.monotonic() + 180
        while "the caller stayed silent; hanging up" not in log.read_text(errors="replace"):
            assert await page.evaluate(STATE) == "connected", "the call ended before the hang-up"
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-4000:]
            await asyncio.sleep(0.5)
        hung_up_at = time.monotonic()
        while (state := await page.evaluate(STATE)) == "connected":
            if time.monotonic() > hung_up_at + 30:
                break
            await asyncio.sleep(0.2)
        return {"state": state, "noticed_s": time.monotonic() - hung_up_at}


def test_the_agent_hangs_up_a_silent_browser_caller(tmp_path: Path) -> None:
    assert get_host_addresses(use_ipv4=True, use_ipv6=True), "only loopback: ICE cannot connect"
    wav, log = tmp_path / "silence.wav", tmp_path / "demo.log"
    _write_silence(wav)
    env = agent_env()
    env["SWITCHBOARD_AGENT__IDLE_PROMPT_S"] = "2"
    env["SWITCHBOARD_AGENT__IDLE_HANGUP_S"] = "5"
    with interactive_demo(tmp_path, env) as (demo, url):
        call = asyncio.run(_silent_call(url, wav, tmp_path, log))
        _wait_http(url, demo, timeout_s=10)  # still serving: the page loads for the next call
    report = f"{call}\n{log.read_text(errors='replace')[-3000:]}"
    assert call["state"] == "the agent hung up", report
    assert call["noticed_s"] < PAGE_NOTICES_S, report
