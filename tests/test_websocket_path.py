"""The Twilio-format WebSocket media stream answers on agent.websocket_path, and only there:
a PBX bridge that speaks that wire format can be pointed at any path."""

import json

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from pipeline.serve.app import create_app
from pipeline.settings import Settings


def test_media_stream_answers_on_the_configured_path_only() -> None:
    app = create_app(Settings(agent={"websocket_path": "/pbx/media"}))
    client = TestClient(app, client=("127.0.0.1", 50000))  # a peer inside agent.allowed_peers
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws"):
        pass  # the default path is not served when another is configured
    with client.websocket_connect("/pbx/media") as ws:
        for _ in range(2):  # not Twilio's "connected"/"start": the agent says so and closes
            ws.send_text(json.dumps({"event": "hello"}))
        closed = ws.receive()
    assert closed == {
        "type": "websocket.close",
        "code": 1003,
        "reason": "expected Twilio media-stream messages",
    }
