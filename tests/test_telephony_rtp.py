"""RtpLeg over real UDP sockets on 127.0.0.1: a plain socket plays the phone.

Jitter buffer (reorder, duplicates, late, loss, wrap), RFC 4733 DTMF, 20 ms pacing with
continuous sequence numbers and timestamps, hold, source-address filtering, G.711 both ways,
malformed packets and port exhaustion."""

import asyncio
import socket
from collections.abc import AsyncIterator

import numpy as np
import pytest

from pipeline.telephony.call_media import Dtmf
from pipeline.telephony.dtmf_events import event_payload
from pipeline.telephony.rtp import NoRtpPort, RtpLeg
from pipeline.telephony.rtp_packet import RtpPacket, build, decode_payload, encode_payload, parse
from pipeline.telephony.sdp import Codec

PCMU, PCMA, DTMF_PT = Codec(0, "PCMU"), Codec(8, "PCMA"), 101


class Phone:
    """The far end: a UDP socket that sends RTP to the leg and collects what the leg sends."""

    def __init__(self, leg: RtpLeg, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.setblocking(False)
        self.address = self.sock.getsockname()
        self.leg_address = ("127.0.0.1", leg.local_port)

    def send(self, seq: int, payload: bytes, pt: int = 0, ts: int | None = None) -> None:
        ts = seq * 160 if ts is None else ts
        self.sock.sendto(build(RtpPacket(pt, seq & 0xFFFF, ts, 0xCAFE, payload)), self.leg_address)

    async def receive(self, seconds: float) -> list[tuple[float, RtpPacket]]:
        loop, packets = asyncio.get_running_loop(), []
        end = loop.time() + seconds
        while loop.time() < end:
            try:
                packets.append((loop.time(), parse(self.sock.recv(2048))))
            except BlockingIOError:
                await asyncio.sleep(0.002)
        return packets


def level(value: int, codec: Codec = PCMU) -> bytes:
    """20 ms of constant PCM `value`, G.711-encoded: a packet whose audio says which it was."""
    return encode_payload(codec.name, np.full(160, value, "<i2").tobytes())


def heard(value: int, codec: Codec = PCMU) -> int:
    """What `value` sounds like after a G.711 round trip."""
    return int(np.frombuffer(decode_payload(codec.name, level(value, codec)), "<i2")[0])


async def read_levels(leg: RtpLeg, count: int, timeout: float = 2.0) -> list[int]:
    out = []
    for _ in range(count):
        pcm = await asyncio.wait_for(leg.read(), timeout)
        out.append(int(np.frombuffer(pcm, "<i2")[80]))
    return out


@pytest.fixture
async def leg() -> AsyncIterator[RtpLeg]:
    opened = await RtpLeg.open("127.0.0.1", 31000, 31998)
    yield opened
    await opened.close()


@pytest.fixture
async def phone(leg: RtpLeg) -> AsyncIterator[Phone]:
    far = Phone(leg)
    leg.start(far.address, PCMU, DTMF_PT)
    yield far
    far.sock.close()


async def test_reorder_duplicates_late_and_wrap(leg: RtpLeg, phone: Phone) -> None:
    base = 65533  # the sequence wraps after two packets
    for offset in (0, 2, 3, 3, 1, -1, 4, 5, 6, 2):  # 3 twice while held, -1 and 2 late
        phone.send(base + offset, level(1000 + 300 * offset))
    assert await read_levels(leg, 7) == [heard(1000 + 300 * i) for i in range(7)]
    assert leg._jitter.duplicates == 1 and leg._jitter.late == 2


async def test_lost_packet_becomes_silence(leg: RtpLeg, phone: Phone) -> None:
    for seq in (10, 12, 13, 14, 15):  # 11 never comes: given up once 4 packets wait behind it
        phone.send(seq, level(300 * seq))
    assert await read_levels(leg, 6) == [heard(300 * s) if s != 11 else 0 for s in range(10, 16)]
    phone.send(17, level(5100))  # 16 lost at the end of a talkspurt: drained after a pause
    assert await read_levels(leg, 2) == [0, heard(5100)]
    assert leg._jitter.lost == 2


async def test_a_caller_who_stops_sending_is_heard_as_silence(leg: RtpLeg, phone: Phone) -> None:
    # Silence suppression: the phone sends nothing while its caller is quiet, then goes on
    # with the next sequence number.
    for seq in range(1, 6):
        phone.send(seq, level(3000))
    assert await read_levels(leg, 5) == [heard(3000)] * 5
    await asyncio.sleep(0.5)
    phone.send(6, level(6000))
    levels = await read_levels(leg, 30)
    filled = levels.index(heard(6000))
    assert 17 <= filled <= 26, levels  # 0.5 s of silence: 25 packets, give or take the ticks
    assert set(levels[:filled]) == {0}
    assert leg._jitter.lost == 0  # no packet was missing: nothing concealed twice


async def test_no_silence_before_the_callers_first_audio(leg: RtpLeg, phone: Phone) -> None:
    await asyncio.sleep(0.3)
    phone.send(1, level(3000))
    assert await read_levels(leg, 1) == [heard(3000)]


async def test_dtmf_one_digit_per_event(leg: RtpLeg, phone: Phone) -> None:
    seq = 100
    for ts, event in ((8000, 5), (16000, 11), (24000, 5), (32000, 16)):  # 5, #, 5, flash
        for i, end in enumerate([False] * 3 + [True] * 3):  # updates, then 3 end packets
            phone.send(seq, event_payload(event, end, 160 * min(i + 1, 4)), DTMF_PT, ts)
            seq += 1
    phone.send(seq, event_payload(5, True, 640), DTMF_PT, 24000)  # a late retransmission
    phone.send(seq + 1, b"\x05", DTMF_PT, 40000)  # truncated: ignored
    got = [await asyncio.wait_for(leg.read(), 2) for _ in range(3)]
    assert got == [Dtmf("5"), Dtmf("#"), Dtmf("5")]
    await asyncio.sleep(0.1)
    assert leg._inbox.empty()


async def test_pacing_sequence_timestamps_and_g711_round_trip(leg: RtpLeg, phone: Phone) -> None:
    await phone.receive(0.1)  # the leg sends silence while the agent is quiet
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)).astype("<i2")
    await leg.write(tone.tobytes())  # 1 s: 50 packets
    packets = [p for _, p in await phone.receive(1.3)]
    seqs = [p.sequence for p in packets]
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:], strict=False)), seqs
    stamps = [p.timestamp for p in packets]
    assert all((b - a) & 0xFFFFFFFF == 160 for a, b in zip(stamps, stamps[1:], strict=False))
    assert {p.payload_type for p in packets} == {0} and {len(p.payload) for p in packets} == {160}
    speech = [i for i, p in enumerate(packets) if p.payload != level(0)]
    assert len(speech) == 50 and speech == list(range(speech[0], speech[0] + 50))
    assert packets[speech[0]].marker and not any(p.marker for p in packets[speech[0] + 1 :])
    line = b"".join(decode_payload("PCMU", packets[i].payload) for i in speech)
    noise = np.frombuffer(line, "<i2").astype(float) - tone
    assert 10 * np.log10(np.mean(tone.astype(float) ** 2) / np.mean(noise**2)) > 30


async def test_real_time_pace(leg: RtpLeg, phone: Phone) -> None:
    arrivals = [t for t, _ in await phone.receive(2.0)]
    assert 85 <= len(arrivals) <= 101, len(arrivals)  # 20 ms packets, loaded machine allowed
    span = arrivals[-1] - arrivals[0]
    assert abs(span / (len(arrivals) - 1) - 0.02) < 0.002, span


async def test_clear_drops_queued_audio(leg: RtpLeg, phone: Phone) -> None:
    await leg.write(np.full(8000 * 2, 3000, "<i2").tobytes())
    before = [p for _, p in await phone.receive(0.2)]
    leg.clear()
    packets = [p for _, p in await phone.receive(0.5)]
    loud = [p for p in packets if p.payload != level(0)]
    assert all(p.payload != level(0) for p in before[1:]), "the agent's audio did not play"
    assert len(loud) <= 1 and len(packets) - len(loud) >= 20  # silence right after the clear


async def test_hold_stops_sending_and_resume_continues_the_clocks(
    leg: RtpLeg, phone: Phone
) -> None:
    before = [p for _, p in await phone.receive(0.2)]
    leg.set_remote(phone.address, "recvonly")
    await phone.receive(0.05)  # one packet may have been on its way
    assert await phone.receive(0.5) == []
    phone.send(1, level(1500))  # we still hear the caller on hold
    assert await read_levels(leg, 1) == [heard(1500)]
    leg.set_remote(phone.address, "sendrecv")
    after = [p for _, p in await phone.receive(0.2)]
    assert (after[0].sequence - before[-1].sequence) & 0xFFFF <= 4  # no gap in sequence
    elapsed = (after[0].timestamp - before[-1].timestamp) & 0xFFFFFFFF
    assert 0.5 * 8000 <= elapsed <= 1.0 * 8000  # the timestamps kept time through the hold


async def test_packets_from_other_sources_and_garbage_are_dropped(
    leg: RtpLeg, phone: Phone
) -> None:
    stranger = Phone(leg)  # same address, other port
    other_host = Phone(leg, host="127.0.0.2")
    stranger.send(1, level(999))
    other_host.send(1, level(999))
    for junk in (b"", b"\x80", b"\x40" + bytes(20), b"\xa0\x00" + bytes(10) + b"\x00"):
        phone.sock.sendto(junk, phone.leg_address)  # short, RTP v1, padding count 0
    phone.send(5, level(321, PCMA), pt=8)  # a payload type we did not negotiate
    phone.send(7, level(123))
    assert await read_levels(leg, 1) == [heard(123)]
    assert leg.dropped == {"foreign": 2, "malformed": 4, "payload type": 1}
    for sock in (stranger.sock, other_host.sock):
        sock.close()


async def test_pcma_leg_decodes_and_encodes_a_law() -> None:
    leg = await RtpLeg.open("127.0.0.1", 31000, 31998)
    far = Phone(leg)
    leg.start(far.address, PCMA, None)
    far.send(1, level(-4000, PCMA), pt=8)
    assert heard(-4000, PCMA) != heard(-4000, PCMU)
    assert await read_levels(leg, 1) == [heard(-4000, PCMA)]
    await leg.write(np.full(160, -4000, "<i2").tobytes())
    sent = [p for _, p in await far.receive(0.2) if p.payload != level(0, PCMA)]
    assert sent and sent[0].payload == level(-4000, PCMA) and sent[0].payload_type == 8
    await leg.close()
    await leg.close()  # idempotent
    while (item := await leg.read()) is not None:
        assert item == bytes(320)  # the quiet line, filled with silence, before the end
    assert await leg.read() is None
    far.sock.close()


async def test_even_ports_and_a_clear_error_when_the_range_is_full() -> None:
    first = await RtpLeg.open("127.0.0.1", 32001, 32002)
    assert first.local_port == 32002  # RTP takes even ports
    with pytest.raises(NoRtpPort, match="32001-32002"):
        await RtpLeg.open("127.0.0.1", 32001, 32002)
    await first.close()
    with pytest.raises(ValueError, match="PCMU/PCMA"):
        first.start(("127.0.0.1", 9), Codec(9, "G722"), None)
