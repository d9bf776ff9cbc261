"""Asterisk AudioSocket: the leg over a real TCP connection, then calls against a live agent
(`serve --cpu`): a synthesized question answered with speech about it, and malformed
connections hung up while another call goes on."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import numpy as np
import pytest
from agent_fixture import Agent, start_agent
from audiosocket_line import AudioSocketLine

from pipeline.callers.transcribe import transcribe
from pipeline.callers.voice import synthesize
from pipeline.telephony.audiosocket import (
    AUDIO,
    DTMF,
    ERROR,
    HANGUP,
    UUID,
    AudioSocketError,
    AudioSocketLeg,
    frame,
    read_call_id,
    read_frame,
)
from pipeline.telephony.call_media import Dtmf

ORDER_WORDS = ("kettle", "shipped", "friday", "1234", "order")
CALL_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.fixture
async def connected() -> AsyncIterator[tuple[AudioSocketLeg, asyncio.StreamReader, object]]:
    """(the server's leg, the client's reader, the client's writer) over 127.0.0.1."""
    accepted: asyncio.Future = asyncio.get_running_loop().create_future()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set_result(AudioSocketLeg(await read_call_id(reader, 5), reader, writer))

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname())
    writer.write(frame(UUID, CALL_ID.bytes))
    leg = await asyncio.wait_for(accepted, 5)
    yield leg, reader, writer
    await leg.close()
    writer.close()
    server.close()


async def test_leg_reads_audio_dtmf_and_the_hang_up(connected) -> None:
    leg, _, writer = connected
    assert leg.call_id == CALL_ID
    writer.write(frame(AUDIO, bytes(range(200)) * 2) + frame(AUDIO, b"\x01\x02"))
    writer.write(frame(DTMF, b"#") + frame(AUDIO, b"") + frame(HANGUP))
    assert await leg.read() == bytes(range(200)) * 2
    assert await leg.read() == b"\x01\x02"
    assert await leg.read() == Dtmf("#")
    assert await leg.read() is None and await leg.read() is None
    assert leg.error is None


async def test_leg_paces_20ms_frames_and_is_silent_when_idle(connected) -> None:
    leg, reader, _ = connected
    await leg.write(np.arange(8000, dtype="<i2").tobytes())  # 1 s
    frames, times = [], []
    while len(frames) < 50:
        frames.append(await asyncio.wait_for(read_frame(reader), 2))
        times.append(time.monotonic())
    assert {(kind, len(payload)) for kind, payload in frames} == {(AUDIO, 320)}
    assert np.array_equal(np.frombuffer(b"".join(p for _, p in frames), "<i2"), np.arange(8000))
    assert 0.9 <= times[-1] - times[0] <= 1.2  # at the line's pace, not in a burst
    with pytest.raises(TimeoutError):  # nothing queued: nothing sent
        await asyncio.wait_for(read_frame(reader), 0.3)
    await leg.write(bytes(16000))
    await asyncio.wait_for(read_frame(reader), 1)
    leg.clear()
    await asyncio.sleep(0.05)  # a frame may be on its way
    with pytest.raises(TimeoutError):
        while True:
            await asyncio.wait_for(read_frame(reader), 0.3)


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (frame(0x42, b"hello"), "unknown or unexpected frame kind 0x42"),
        (frame(AUDIO, b"\x00\x01\x02"), "odd"),
        (frame(DTMF, b"12"), "not one key"),
        (frame(UUID, CALL_ID.bytes), "unexpected frame kind 0x01"),
    ],
)
async def test_malformed_frame_ends_the_leg_with_a_hang_up(connected, bad: bytes, says: str):
    leg, reader, writer = connected
    writer.write(bad + frame(AUDIO, b"\x00\x00"))
    assert await asyncio.wait_for(leg.read(), 5) is None
    assert says in leg.error
    assert await asyncio.wait_for(read_frame(reader), 5) == (HANGUP, b"")
    assert await reader.read() == b""  # and the connection is closed


async def test_peer_error_frame_ends_the_leg_quietly(connected) -> None:
    leg, _, writer = connected
    writer.write(frame(ERROR, b"\x01"))
    assert await asyncio.wait_for(leg.read(), 5) is None and leg.error is None


async def test_a_call_must_start_with_its_uuid() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(frame(AUDIO, bytes(320)))
    with pytest.raises(AudioSocketError, match="expected a UUID frame"):
        await read_call_id(reader, 1)
    with pytest.raises(TimeoutError):
        await read_call_id(asyncio.StreamReader(), 0.2)


@pytest.fixture(scope="module")
def agent():
    running = start_agent()
    yield running
    assert not running.stop(), "children outlived serve"


QUESTION = "Hi, I am calling to check on my order. My order number is one two three four."


async def ask(agent: Agent) -> dict:
    async with AudioSocketLine(agent.audiosocket) as line:
        greeting = await line.wait_agent_turn(time.monotonic(), timeout_s=120)
        _, sent = await line.say(synthesize(QUESTION))
        answer = await line.wait_agent_turn(sent, quiet_s=2.5, timeout_s=120)
    return {"greeting": greeting, "answer": answer}


@pytest.mark.slow
def test_spoken_question_gets_a_spoken_answer_about_it(agent: Agent) -> None:
    result = asyncio.run(ask(agent))
    greeting, answer = result["greeting"], result["answer"]
    assert greeting and answer, agent.log()[-4000:]
    assert {len(p.pcm) for p in greeting + answer} == {160}  # 20 ms frames of 8 kHz slin
    span = greeting[-1].at - greeting[0].at
    assert span >= 0.8 * 0.02 * (len(greeting) - 1), span  # paced like a phone, not a burst
    text = transcribe(np.concatenate([p.pcm for p in answer]), agent.speech_address)
    assert any(word in text.lower() for word in ORDER_WORDS), (text, agent.log()[-4000:])
    assert "tool lookup_order(" in agent.log()


async def bad_connection(address: tuple[str, int], data: bytes) -> tuple[list[int], float]:
    """Send `data` on a fresh connection; the kinds of the frames the agent answers until it
    closes the connection, and how long that took."""
    start = time.monotonic()
    reader, writer = await asyncio.open_connection(*address)
    writer.write(data)
    kinds = []
    try:
        while True:
            kind, _ = await asyncio.wait_for(read_frame(reader), 15)
            kinds.append(kind)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()
    return kinds, time.monotonic() - start


async def bad_connections_during_a_call(agent: Agent) -> dict:
    def call_id() -> bytes:
        return frame(UUID, uuid.uuid4().bytes)

    bad = {
        "unknown kind": call_id() + frame(0x42, b"garbage"),
        "audio first": frame(AUDIO, bytes(320)),
        "odd audio": call_id() + frame(AUDIO, b"\x00\x01\x02"),
        "short uuid": frame(UUID, b"\x01\x02"),
        "nothing": b"",
    }
    async with AudioSocketLine(agent.audiosocket) as call:
        await call.wait_agent_turn(time.monotonic(), timeout_s=120)  # the greeting
        results = await asyncio.gather(
            *(bad_connection(agent.audiosocket, data) for data in bad.values())
        )
        _, sent = await call.say(synthesize(QUESTION))
        answer = await call.wait_agent_turn(sent, quiet_s=2.5, timeout_s=120)
        still_open = not call.closed.is_set()
    return {"bad": dict(zip(bad, results, strict=True)), "answer": answer, "open": still_open}


@pytest.mark.slow
def test_malformed_connections_are_hung_up_and_never_disturb_another_call(agent: Agent):
    result = asyncio.run(bad_connections_during_a_call(agent))
    for name, (kinds, seconds) in result["bad"].items():
        assert kinds[-1:] == [HANGUP], (name, kinds)  # hung up, with no agent audio
        assert seconds < 12, (name, seconds)  # at once, or after the 5 s UUID timeout
    assert result["answer"] and result["open"], agent.log()[-4000:]
    log = agent.log()
    assert "unknown or unexpected frame kind 0x42" in log and "odd" in log
    assert "expected a UUID frame" in log
    assert agent.get("/healthz") == 200
