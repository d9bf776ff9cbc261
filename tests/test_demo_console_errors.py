"""The turn console says clearly what went wrong: a refused microphone, an agent that cannot
be reached. Real headless Chromium (tests/browser_cdp.py) on the demo's real page app."""

import asyncio
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from asgi_server import serving
from browser_cdp import Page, open_page
from speech_server_fixture import free_port

from pipeline.demo.browser import create_browser_app
from pipeline.settings import Settings

pytestmark = pytest.mark.slow

SHOWN = "[document.body.dataset.state, document.querySelector('#error').textContent]"


def _quiet_wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(np.zeros(16000, dtype=np.int16).tobytes())
    return path


async def _after_connect(page: Page, timeout_s: float = 20) -> list[str]:
    """Click Connect; what the page shows once it has failed (state, error line)."""
    await page.click("#connect")
    deadline = time.monotonic() + timeout_s
    while not (shown := await page.evaluate(SHOWN))[0].startswith("failed"):
        assert time.monotonic() < deadline, shown
        await asyncio.sleep(0.2)
    return shown


async def _refused_microphone(url: str, tmp: Path) -> list[str]:
    wav, profile = _quiet_wav(tmp / "quiet.wav"), tmp / "profile"
    async with open_page(url, wav, profile, free_port(), allow_microphone=False) as page:
        origin = url.rstrip("/")
        await page.call(
            "Browser.setPermission",
            permission={"name": "microphone"},
            setting="denied",
            origin=origin,
        )
        return await _after_connect(page)


async def _agent_gone(url: str, tmp: Path, server: object) -> list[str]:
    async with open_page(url, _quiet_wav(tmp / "quiet.wav"), tmp / "profile", free_port()) as page:
        while await page.evaluate("document.body?.dataset.state") != "disconnected":
            await asyncio.sleep(0.2)
        server.__exit__(None, None, None)  # the agent goes away after the page has loaded
        return await _after_connect(page)


def test_a_refused_microphone_is_said_plainly(tmp_path: Path) -> None:
    with serving(create_browser_app(Settings())) as url:
        state, error = asyncio.run(_refused_microphone(url + "/", tmp_path))
    assert "microphone was refused" in error and "allow it" in error, (state, error)
    assert state.startswith("failed")


def test_an_agent_that_cannot_be_reached_is_said_plainly(tmp_path: Path) -> None:
    server = serving(create_browser_app(Settings()))
    url = server.__enter__()
    state, error = asyncio.run(_agent_gone(url + "/", tmp_path, server))
    assert "cannot reach the agent" in error, (state, error)
