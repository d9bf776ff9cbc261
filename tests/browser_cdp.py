"""Debian's headless Chromium, driven over the Chrome DevTools Protocol (CDP).

In: a page URL and a WAV for Chromium's fake microphone. Out: `Page`, a CDP session on the
open tab: evaluate JavaScript, click an element the way a mouse does, record what the page
plays from a WebRTC stream (`start_recording` / `recording`, 8 kHz int16), and take a
screenshot.
"""

import asyncio
import base64
import contextlib
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import websockets

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",  # containers often have a small /dev/shm
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",  # grants the microphone as a person's "Allow" would
    "--autoplay-policy=no-user-gesture-required",
    "--window-size=1280,1000",
]
RECORD_RATE = 8000
# The page's <audio> element plays the remote WebRTC stream; tap that stream with Web Audio.
START_RECORDING = """(async () => {
  const stream = document.querySelector(%s).srcObject;
  if (!stream || !stream.getAudioTracks().length) return "no stream";
  const context = new AudioContext({sampleRate: %d});
  const tap = context.createScriptProcessor(4096, 1, 1);
  window.__heard = [];
  tap.onaudioprocess = (e) =>
    window.__heard.push(Float32Array.from(e.inputBuffer.getChannelData(0)));
  context.createMediaStreamSource(stream).connect(tap);
  tap.connect(context.destination);
  await context.resume();
  return context.state; })()"""
# The loudest 4096-sample chunk (RMS, int16 scale) of the last `n` recorded.
RECENT_LEVEL = """(() => Math.max(0, ...(window.__heard || []).slice(-%d).map(
  (c) => Math.sqrt(c.reduce((sum, v) => sum + v * v, 0) / c.length) * 32767)))()"""
RECORDING = """(() => {
  const chunks = window.__heard || [];
  const pcm = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let i = 0;
  for (const c of chunks) for (const v of c) pcm[i++] = Math.max(-1, Math.min(1, v)) * 32767;
  const bytes = new Uint8Array(pcm.buffer);
  let text = "";
  for (let j = 0; j < bytes.length; j += 32768)
    text += String.fromCharCode.apply(null, bytes.subarray(j, j + 32768));
  return btoa(text); })()"""


class Page:
    """One CDP session on a tab: commands by id, events ignored."""

    def __init__(self, socket: websockets.ClientConnection) -> None:
        self._socket, self._next_id = socket, 0

    async def call(self, method: str, **params: Any) -> dict:
        self._next_id += 1
        await self._socket.send(
            json.dumps({"id": self._next_id, "method": method, "params": params})
        )
        while True:
            reply = json.loads(await self._socket.recv())
            if reply.get("id") == self._next_id:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply["result"]

    async def evaluate(self, expression: str) -> Any:
        result = await self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    async def click(self, selector: str) -> None:
        """Press and release the left mouse button over the element's centre."""
        box = await self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            await self.call(
                "Input.dispatchMouseEvent",
                type=kind,
                x=box[0],
                y=box[1],
                button="left",
                clickCount=1,
            )

    async def start_recording(self, audio_selector: str) -> str:
        return await self.evaluate(START_RECORDING % (json.dumps(audio_selector), RECORD_RATE))

    async def wait_quiet(self, quiet_s: float, timeout_s: float, level: float = 300) -> None:
        """Until the last `quiet_s` of the recording stay below `level` (RMS)."""
        chunks = max(1, round(quiet_s * RECORD_RATE / 4096))
        deadline = time.monotonic() + timeout_s
        while await self.evaluate(RECENT_LEVEL % chunks) >= level:
            assert time.monotonic() < deadline, f"the page never went quiet for {quiet_s} s"
            await asyncio.sleep(0.2)

    async def recording(self) -> np.ndarray:
        return np.frombuffer(base64.b64decode(await self.evaluate(RECORDING)), dtype=np.int16)

    async def screenshot(self, path: Path) -> None:
        """The whole page as a PNG at `path`."""
        shot = await self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(shot["data"]))


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@contextlib.asynccontextmanager
async def open_page(
    url: str,
    microphone_wav: Path,
    profile: Path,
    cdp_port: int,
    timeout_s: float = 60,
    allow_microphone: bool = True,
) -> AsyncIterator[Page]:
    """Chromium showing `url`, its microphone playing `microphone_wav` (unless the person
    refuses it: `allow_microphone=False`); killed on exit."""
    assert CHROMIUM, "chromium is not installed (make peers installs it)"
    flags = [f for f in CHROMIUM_FLAGS if allow_microphone or "fake-ui" not in f]
    browser = subprocess.Popen(
        [CHROMIUM, *flags, f"--use-file-for-fake-audio-capture={microphone_wav}"]
        + [f"--remote-debugging-port={cdp_port}", f"--user-data-dir={profile}", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout_s
        tabs: list[dict] = []
        while not tabs:
            assert browser.poll() is None, f"chromium exited with {browser.returncode}"
            assert time.monotonic() < deadline, "chromium's DevTools endpoint never answered"
            with contextlib.suppress(OSError):
                tabs = [
                    t
                    for t in _get_json(f"http://127.0.0.1:{cdp_port}/json/list")
                    if t.get("type") == "page"
                ]
            await asyncio.sleep(0.5)
        async with websockets.connect(tabs[0]["webSocketDebuggerUrl"], max_size=None) as socket:
            yield Page(socket)
    finally:
        browser.kill()
        browser.wait()
