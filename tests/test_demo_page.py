"""The `demo --interactive` app served by uvicorn: the page works air-gapped (it names no
other host), and bad WebRTC offers get a clear 4xx while the page stays up. The browser call
itself is tests/test_demo_browser.py."""

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from asgi_server import serving

from pipeline.agent.turn_events import CONSOLE_MESSAGE
from pipeline.demo.browser import create_browser_app
from pipeline.settings import Settings

AUDIO_OFFER_WITHOUT_ICE = (
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
    "a=sendrecv\r\na=mid:0\r\n"
)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serving(create_browser_app(Settings())) as url:
        yield url


def _get(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers["Content-Type"], response.read().decode()


def _post(url: str, body: dict) -> tuple[int, dict]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_the_page_and_its_scripts_name_no_other_host(base_url: str) -> None:
    html_type, html = _get(base_url + "/")
    script_names = re.findall(r'<script[^>]* src="([^"]+)"', html)
    assert html_type.startswith("text/html") and script_names == ["call.js"]
    texts, pending = {"index.html": html}, list(script_names)
    while pending:  # call.js and the modules it imports, all from this server
        name = pending.pop()
        js_type, texts[name] = _get(f"{base_url}/{name}")
        assert "javascript" in js_type, name
        imported = re.findall(r'from "\./([\w-]+\.js)"', texts[name])
        pending += [module for module in imported if module not in texts]
    assert {"call.js", "console.js", "timeline.js", "meter.js"} <= set(texts)
    assert "api/offer" in texts["call.js"] and "client-ready" in texts["call.js"]
    assert CONSOLE_MESSAGE in texts["console.js"]  # the RTVI server messages of turn events
    for text in texts.values():
        assert re.findall(r"\b(?:https?|wss?)://", text) == []


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"sdp": "v=0\r\nm=audio 9 RTP/AVP 0\r\n", "type": "answer"}, 400, "SDP offer"),
        ({"sdp": "v=0\r\nm=video 9 RTP/AVP 96\r\n", "type": "offer"}, 400, "audio track"),
        ({"sdp": AUDIO_OFFER_WITHOUT_ICE, "type": "offer"}, 400, "ICE username fragment"),
        ({"type": "offer"}, 422, "sdp"),
    ],
)
def test_a_bad_offer_gets_a_clear_error_and_the_page_stays_up(
    base_url: str, body: dict, status: int, detail: str
) -> None:
    got_status, reply = _post(base_url + "/api/offer", body)
    assert got_status == status and detail in json.dumps(reply), reply
    assert _get(base_url + "/")[1].startswith("<!doctype html>")
