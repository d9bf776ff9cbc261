"""`switchboard demo --interactive` in headless Chromium: the prebuilt page connects over
WebRTC, Chromium's fake microphone plays a piper WAV, and the agent answers the caller.

Chromium comes from Debian (`make test` installs it); the page is driven through the Chrome
DevTools Protocol (one click on "Connect"), nothing else is automated.

Opt-in (SWITCHBOARD_BROWSER_TEST=1, after `make chromium`): unfinished. The page loads and
the click lands, but the prebuilt client (pipecat-ai-small-webrtc-prebuilt 2.5) never sends
its offer in headless Chromium yet; the server side (/start, /sessions/{id}/api/offer) is
in pipeline/demo/browser.py.
"""

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
import wave

import numpy as np
import pytest
import websockets
from agent_fixture import REPO, agent_env
from speech_server_fixture import free_port

from pipeline.bench.caller_audio import synthesize

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
CLICK_CONNECT = """(() => {
  const b = [...document.querySelectorAll('button')].find(b => /connect/i.test(b.textContent));
  if (b) { b.click(); return true; } return false; })()"""


def _write_caller_wav(path) -> None:
    """The caller's line after 3 s of quiet (the greeting), then 10 s of quiet (the answer)."""
    rate = 16000
    quiet = np.zeros(rate * 3, dtype=np.int16)
    line = synthesize("Hi, I am calling to check on my order, please.", rate)
    audio = np.concatenate([quiet, line, np.zeros(rate * 10, dtype=np.int16)])
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


async def _click_connect(cdp_port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{cdp_port}/json/list", timeout=5) as r:
            pages = [p for p in json.load(r) if p.get("type") == "page"]
        async with websockets.connect(pages[0]["webSocketDebuggerUrl"], max_size=None) as cdp:
            params = {"expression": CLICK_CONNECT}
            request = {"id": 1, "method": "Runtime.evaluate", "params": params}
            await cdp.send(json.dumps(request))
            reply = json.loads(await cdp.recv())
            if reply.get("result", {}).get("result", {}).get("value") is True:
                return
        await asyncio.sleep(1)
    raise TimeoutError("no Connect button on the page")


def _agent_answered(log: str) -> bool:
    """A non-empty caller turn followed by a non-empty agent turn."""
    match = re.search(r"caller: \S.*", log)
    return bool(match and re.search(r"agent: \S", log[match.end() :]))


@pytest.mark.skipif(
    CHROMIUM is None or os.environ.get("SWITCHBOARD_BROWSER_TEST") != "1",
    reason="opt-in (SWITCHBOARD_BROWSER_TEST=1, Debian chromium): unfinished, see docstring",
)
def test_browser_caller_gets_an_answer(tmp_path) -> None:
    wav, page_port, cdp_port = tmp_path / "caller.wav", free_port(), free_port()
    _write_caller_wav(wav)
    demo_log = tmp_path / "demo.log"
    command = [sys.executable, "-m", "pipeline.cli", "demo", "--interactive"]
    command += ["--port", str(page_port), "--log-dir", str(tmp_path)]
    with demo_log.open("wb") as out:
        demo = subprocess.Popen(command, cwd=REPO, env=agent_env(), stdout=out, stderr=out)
    browser = None
    try:
        _wait_http(f"http://127.0.0.1:{page_port}/client/", demo, timeout_s=300)
        browser = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={wav}"]
            + [f"--remote-debugging-port={cdp_port}", f"--user-data-dir={tmp_path / 'profile'}"]
            + [f"http://127.0.0.1:{page_port}/client/"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_http(f"http://127.0.0.1:{cdp_port}/json/version", browser, timeout_s=60)
        asyncio.run(_click_connect(cdp_port))
        deadline = time.monotonic() + 120
        while not _agent_answered(demo_log.read_text(errors="replace")):
            assert time.monotonic() < deadline, demo_log.read_text(errors="replace")[-4000:]
            time.sleep(1)
    finally:
        if browser:
            browser.kill()
            browser.wait()
        demo.terminate()
        demo.wait(timeout=30)
