"""The simulated SIP caller (pipeline/callers/sip_line.py) against real SIP peers: the agent's
own SIP server with the echo handler (speech comes back as RTP, DTMF arrives as RFC 4733
events, "#" makes the server hang up with BYE), and a UDP responder that refuses with 486."""

import asyncio
import socket

import numpy as np
import pytest
from sip_peers import start_sip

from pipeline.callers.sip_line import SipCallRefused, SipPhoneLine
from pipeline.telephony.sip.handler import EchoHandler
from pipeline.telephony.sip.message import parse
from pipeline.telephony.sip.responses import response

RTP_BASE = 31400


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    return (6000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


async def _echo_call(port: int) -> tuple[SipPhoneLine, float, str]:
    async with SipPhoneLine(f"sip:agent@127.0.0.1:{port}") as line:
        first, _ = await line.say(_tone(0.6))
        await asyncio.sleep(0.5)
        heard_at = line.speech_since(first)[0].at if line.speech_since(first) else -1.0
        await line.press("12#")
        await asyncio.wait_for(line.closed.wait(), 5)
        return line, heard_at - first, line.call_id


def test_sip_line_talks_keys_dtmf_and_is_hung_up_on():
    handler = EchoHandler()
    sip = start_sip(handler, RTP_BASE)
    try:
        line, echo_after_s, call_id = asyncio.run(_echo_call(sip.port))
    finally:
        sip.stop()
    assert 0 < echo_after_s < 0.5  # our RTP speech came back as RTP speech
    record = handler.calls[call_id]
    assert record.digits == "12#" and record.ended_by == "hangup"
    assert record.audio_bytes > 0.6 * 8000 * 2
    assert line.stream_sid == f"sip-{call_id}"
    assert line.send_lag and max(line.send_lag) < 0.5


async def _refused_call() -> tuple[str, list[str]]:
    seen: list[str] = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    loop = asyncio.get_running_loop()

    async def busy() -> None:
        while True:
            data, peer = await loop.sock_recvfrom(sock, 65535)
            request = parse(data)
            seen.append(request.method)
            if request.method == "INVITE":
                for status in (100, 486):
                    reply = response(request, status, to_tag="busy")
                    await loop.sock_sendto(sock, reply.to_bytes(), peer)

    responder = asyncio.create_task(busy())
    try:
        with pytest.raises(SipCallRefused) as refused:
            async with SipPhoneLine(f"127.0.0.1:{sock.getsockname()[1]}"):
                pass
        await asyncio.sleep(0.1)  # the ACK for the 486
        return str(refused.value), seen
    finally:
        responder.cancel()
        sock.close()


def test_invite_refused_with_486_fails_the_call_with_a_clear_error():
    message, seen = asyncio.run(_refused_call())
    assert "486 Busy Here" in message
    assert seen[:1] == ["INVITE"] and "ACK" in seen
