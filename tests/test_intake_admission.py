"""One admission for every ingress: the allow-list, agent.max_calls shared over SIP,
AudioSocket and WebSocket, and the WebSocket token.

First against the app in this process (the handshake is where a refusal shows, no pipeline
needed): the WebSocket token matrix, 1013 when full, a stream that never starts giving its
place back, and WebRTC's 403/503. Then against a live agent (`serve --cpu --sip-port`,
agent.max_calls 1, only 127.0.0.2 allowed): strangers on 127.0.0.1 are refused on every port,
their flood of 64 KB datagrams does not delay an allowed peer's OPTIONS, and while one
AudioSocket call from 127.0.0.2 is on the line a WebSocket call gets 1013, a SIP INVITE 486 and
another AudioSocket call a hang-up frame; once it hangs up, a WebSocket call with the token is
taken.
"""

import asyncio
import json
import socket
import threading
import time
import uuid

import pytest
import websockets
from agent_fixture import Agent, start_agent
from fastapi import FastAPI
from sip_peers import sdp, sip_request
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from pipeline.bench.localhost import free_port
from pipeline.intake import websocket as websocket_intake
from pipeline.intake.calls import CallIntake
from pipeline.intake.webrtc import WebRTCCalls
from pipeline.serve.app import create_app
from pipeline.settings import Settings
from pipeline.telephony.audiosocket import AUDIO, HANGUP, UUID, frame, read_frame

TOKEN = "s3cret-token"
CALLER, STRANGER = "127.0.0.2", "127.0.0.1"  # Linux routes all of 127/8 to lo
NOT_TWILIO = json.dumps({"event": "hello"})


def _settings(**agent: object) -> Settings:
    return Settings(agent={"allowed_peers": [f"{CALLER}/32"], "max_calls": 1} | agent)


def _websocket_close(app: FastAPI, host: str, path: str = "/ws", **headers: str) -> int:
    """The close code the app's WebSocket gives a client at `host` that is not a Twilio
    stream: 1003 once admitted (it then says it is not Twilio), else the refusal's code."""
    client = TestClient(app, client=(host, 50000))
    try:
        with client.websocket_connect(path, headers=headers) as ws:
            ws.send_text(NOT_TWILIO)
            ws.send_text(NOT_TWILIO)
            return ws.receive()["code"]
    except WebSocketDisconnect as refused:  # closed before the handshake was accepted
        return refused.code


def test_websocket_token_header_or_query_else_refused() -> None:
    app = create_app(_settings(websocket_token=TOKEN))
    assert _websocket_close(app, CALLER) == 1008
    assert _websocket_close(app, CALLER, **{"X-Switchboard-Token": "wrong"}) == 1008
    assert _websocket_close(app, CALLER, **{"X-Switchboard-Token": TOKEN[:-1]}) == 1008
    assert _websocket_close(app, CALLER, "/ws?token=s%C3%A9cret") == 1008  # non-ASCII
    assert _websocket_close(app, CALLER, **{"X-Switchboard-Token": TOKEN}) == 1003
    assert _websocket_close(app, CALLER, f"/ws?token={TOKEN}") == 1003
    assert _websocket_close(app, STRANGER, **{"X-Switchboard-Token": TOKEN}) == 1008


def test_websocket_without_a_token_setting_admits_allowed_peers_only() -> None:
    app = create_app(_settings())
    assert _websocket_close(app, CALLER) == 1003
    assert _websocket_close(app, STRANGER) == 1008
    assert _websocket_close(app, "::1") == 1008


def test_websocket_refused_with_1013_when_full_or_draining() -> None:
    intake = CallIntake(_settings())
    app = create_app(intake.settings, intake)
    with intake.place():  # a call on another carrier
        assert _websocket_close(app, CALLER) == 1013
    assert _websocket_close(app, CALLER) == 1003
    intake.draining = True
    assert _websocket_close(app, CALLER) == 1013
    assert intake.calls == 0


def test_a_websocket_that_never_starts_its_stream_gives_its_place_back(monkeypatch) -> None:
    monkeypatch.setattr(websocket_intake, "START_TIMEOUT_S", 0.5)
    intake = CallIntake(_settings())
    client = TestClient(create_app(intake.settings, intake), client=(CALLER, 50000))
    with client.websocket_connect("/ws") as ws:
        assert intake.calls == 1  # admitted: its place is held while it says nothing
        assert ws.receive()["code"] == 1008
    assert intake.calls == 0


OFFER = {"type": "offer", "sdp": "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"}


def test_webrtc_refuses_strangers_403_and_a_full_agent_503() -> None:
    intake = CallIntake(_settings())
    app = FastAPI()
    WebRTCCalls(intake).add_routes(app)
    stranger = TestClient(app, client=(STRANGER, 50000))
    caller = TestClient(app, client=(CALLER, 50000))
    assert stranger.post("/api/offer", json=OFFER).status_code == 403
    assert stranger.patch("/api/offer", json={"pc_id": "x", "candidates": []}).status_code == 403
    with intake.place():
        assert caller.post("/api/offer", json=OFFER).status_code == 503
    assert intake.calls == 0


# --- a live agent: every carrier shares one admission -------------------------------------


@pytest.fixture(scope="module")
def agent():
    running = start_agent(
        AGENT__SIP_PORT=free_port(),
        AGENT__MAX_CALLS=1,
        AGENT__ALLOWED_PEERS=json.dumps([f"{CALLER}/32"]),
        AGENT__WEBSOCKET_TOKEN=TOKEN,
    )
    yield running
    assert not running.stop(), "children outlived serve"


def _calls(agent: Agent) -> int:
    import urllib.request

    with urllib.request.urlopen(agent.health_url + "/healthz", timeout=5) as response:
        return json.load(response)["calls"]


async def _websocket(agent: Agent, host: str, token: str = TOKEN) -> tuple[int, str]:
    """(HTTP status of a refused handshake or 101, close code or "media" for a call)."""
    headers = {"X-Switchboard-Token": token} if token else {}
    try:
        ws = await websockets.connect(
            agent.ws_url, additional_headers=headers, local_addr=(host, 0), open_timeout=10
        )
    except websockets.InvalidStatus as exc:
        return exc.response.status_code, ""
    async with ws:
        sid = f"MZ{uuid.uuid4().hex}"
        start = {"streamSid": sid, "callSid": "CA1", "mediaFormat": {}}
        try:  # a refused call may be closed before these are sent
            await ws.send(json.dumps({"event": "connected", "protocol": "Call"}))
            await ws.send(json.dumps({"event": "start", "sequenceNumber": "1", "start": start}))
            async with asyncio.timeout(90):
                async for raw in ws:
                    if json.loads(raw).get("event") == "media":
                        return 101, "media"  # the agent's greeting: the call was taken
        except websockets.ConnectionClosed:
            pass
        return 101, str(ws.close_code)


async def _audiosocket(agent: Agent, host: str) -> tuple[asyncio.StreamReader, object]:
    reader, writer = await asyncio.open_connection(*agent.audiosocket, local_addr=(host, 0))
    writer.write(frame(UUID, uuid.uuid4().bytes))
    return reader, writer


async def _frames_until_closed(reader: asyncio.StreamReader) -> list[int]:
    kinds = []
    try:
        while True:
            kind, _ = await asyncio.wait_for(read_frame(reader), 10)
            kinds.append(kind)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    return kinds


def _sip_invite(agent: Agent, host: str) -> list[int]:
    """Status codes the agent answers an INVITE from `host` with, within a few seconds."""
    port = int(agent.env["SWITCHBOARD_AGENT__SIP_PORT"])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        sock.settimeout(3)
        invite = sip_request("INVITE", port, f"adm-{uuid.uuid4().hex}", 1, sdp(free_port()))
        sent_by = f"{host}:{sock.getsockname()[1]}".encode()
        sock.sendto(invite.replace(b"127.0.0.1:5099", sent_by), ("127.0.0.1", port))
        statuses = []
        try:
            while not statuses or statuses[-1] < 200:
                statuses.append(int(sock.recv(65535).split()[1]))
        except TimeoutError:
            pass
    return statuses


@pytest.mark.slow
def test_strangers_are_refused_on_every_port(agent: Agent) -> None:
    async def strangers() -> dict:
        ws = await _websocket(agent, STRANGER)
        reader, writer = await _audiosocket(agent, STRANGER)
        started = time.monotonic()
        try:
            data = await asyncio.wait_for(reader.read(), 10)
        except ConnectionResetError:  # closed with our UUID frame unread
            data = b""
        writer.close()
        return {"ws": ws, "audiosocket": (data, time.monotonic() - started)}

    result = asyncio.run(strangers())
    assert result["ws"] == (403, "")
    data, seconds = result["audiosocket"]
    assert data == b"" and seconds < 2, result  # closed at once, not even a hang-up frame
    assert not [s for s in _sip_invite(agent, STRANGER) if s != 403]  # dropped, or 403
    assert asyncio.run(_websocket(agent, CALLER, token="")) == (403, "")  # no token
    assert _calls(agent) == 0
    log = agent.log()
    assert f"{STRANGER} is outside agent.allowed_peers (WebSocket from {STRANGER})" in log
    assert log.count(f"refused a call: {STRANGER} is outside") == 1  # once per address
    assert f"no valid agent.websocket_token on the upgrade (WebSocket from {CALLER})" in log


@pytest.mark.slow
def test_a_strangers_flood_does_not_delay_an_allowed_peers_sip(agent: Agent) -> None:
    port = int(agent.env["SWITCHBOARD_AGENT__SIP_PORT"])
    junk = sip_request("OPTIONS", port, "flood", 1, sent_by="127.0.0.1:5099")
    junk = junk.replace(b"\r\n\r\n", b"\r\nVia: " + b"<" * 60_000 + b"\r\n\r\n", 1)  # was quadratic
    stop = threading.Event()

    def flood() -> None:  # 64 KB datagrams from outside agent.allowed_peers, ~1,000 a second
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((STRANGER, 0))
            while not stop.is_set():
                for _ in range(10):
                    sock.sendto(junk, ("127.0.0.1", port))
                time.sleep(0.01)

    flooding = threading.Thread(target=flood, daemon=True)
    flooding.start()
    waits = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((CALLER, 0))
            sock.settimeout(2)
            sent_by = f"{CALLER}:{sock.getsockname()[1]}"
            for n in range(30):
                started = time.monotonic()
                sock.sendto(sip_request("OPTIONS", port, f"ok-{n}", n + 1, sent_by=sent_by),
                            ("127.0.0.1", port))  # fmt: skip
                assert sock.recv(65535).startswith(b"SIP/2.0 200")
                waits.append(time.monotonic() - started)
                time.sleep(0.05)
    finally:
        stop.set()
        flooding.join()
    assert sorted(waits)[int(0.95 * len(waits))] < 0.1, waits  # p95 under 100 ms


@pytest.mark.slow
def test_one_call_on_any_carrier_fills_max_calls_for_every_carrier(agent: Agent) -> None:
    async def while_one_call_is_held() -> dict:
        reader, writer = await _audiosocket(agent, CALLER)
        kind, _ = await asyncio.wait_for(read_frame(reader), 90)  # the agent's greeting
        held = await asyncio.to_thread(_calls, agent)
        ws = await _websocket(agent, CALLER)
        sip = await asyncio.to_thread(_sip_invite, agent, CALLER)
        second, _ = await _audiosocket(agent, CALLER)
        second_frames = await _frames_until_closed(second)
        writer.write(frame(HANGUP))
        writer.close()
        return {"greeting": kind, "held": held, "ws": ws, "sip": sip, "second": second_frames}

    result = asyncio.run(while_one_call_is_held())
    assert result["greeting"] == AUDIO and result["held"] == 1, agent.log()[-3000:]
    assert result["ws"] == (101, "1013")
    assert result["sip"][-1:] == [486], result["sip"]
    assert result["second"] == [HANGUP]
    deadline = time.monotonic() + 30
    while _calls(agent) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _calls(agent) == 0, "the hung-up call still holds its place"
    assert asyncio.run(_websocket(agent, CALLER)) == (101, "media"), agent.log()[-3000:]
    assert "refused a call: agent.max_calls (1) calls in progress (WebSocket from" in agent.log()


async def test_datagrams_the_sip_listener_drops_are_exported() -> None:
    from prometheus_client import REGISTRY

    from pipeline.intake.sip import start_sip

    def dropped() -> float:
        return REGISTRY.get_sample_value("switchboard_sip_dropped", {"reason": "peer"}) or 0.0

    port = free_port()
    server = await start_sip(CallIntake(_settings(sip_port=port)))
    before = dropped()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((STRANGER, 0))
            for _ in range(3):
                sock.sendto(sip_request("OPTIONS", port, "drop-1", 1), ("127.0.0.1", port))
        for _ in range(50):
            if dropped() - before >= 3:
                break
            await asyncio.sleep(0.02)
    finally:
        await server.close()
    assert dropped() - before == 3
