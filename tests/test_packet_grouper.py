"""PacketGrouper: the line's packets reach the pipeline as whole frames, in order; a frame cut
short by a gap in the packets goes out on its own after the hold; nothing after `drop`."""

import asyncio

import pytest

from pipeline.telephony.packet_grouper import PacketGrouper

PACKET = 320  # 20 ms of 8 kHz PCM


def packet(n: int) -> bytes:
    return bytes([n % 256]) * PACKET


def grouper(frame_packets: int, hold_s: float = 0.03) -> tuple[PacketGrouper, list[bytes]]:
    out: list[bytes] = []

    async def emit(frame: bytes) -> None:
        out.append(frame)

    return PacketGrouper(frame_packets * PACKET, hold_s, emit), out


async def test_packets_go_out_in_whole_frames_in_order() -> None:
    frames, out = grouper(3)
    for n in range(7):
        await frames.add(packet(n))
    assert out == [packet(0) + packet(1) + packet(2), packet(3) + packet(4) + packet(5)]
    await frames.flush()
    assert out[-1] == packet(6) and b"".join(out) == b"".join(packet(n) for n in range(7))


async def test_a_chunk_longer_than_a_frame_is_cut_and_its_rest_carries_over() -> None:
    frames, out = grouper(2)
    await frames.add(packet(1) * 5)
    assert [len(f) for f in out] == [2 * PACKET, 2 * PACKET]
    await frames.add(packet(1))
    assert [len(f) for f in out] == [2 * PACKET] * 3


async def test_a_gap_in_the_packets_sends_the_partial_frame_after_the_hold() -> None:
    frames, out = grouper(2, hold_s=0.05)
    await frames.add(packet(1))
    await asyncio.sleep(0.02)
    assert out == []  # still waiting for the frame's second packet
    await asyncio.sleep(0.08)
    assert out == [packet(1)]
    await frames.add(packet(2))
    await frames.add(packet(3))
    assert out == [packet(1), packet(2) + packet(3)]


async def test_a_packet_within_the_hold_keeps_the_frame_whole() -> None:
    frames, out = grouper(3, hold_s=0.05)
    for n in range(3):  # 30 ms apart: each restarts the hold
        await frames.add(packet(n))
        await asyncio.sleep(0.03)
    assert out == [packet(0) + packet(1) + packet(2)]


async def test_the_late_partial_frame_goes_before_the_next_frame() -> None:
    sent: list[bytes] = []

    async def slow_emit(frame: bytes) -> None:
        await asyncio.sleep(0.02)  # e.g. a full queue downstream
        sent.append(frame)

    frames = PacketGrouper(PACKET, 0.01, slow_emit)  # cut by the hold: a half packet
    await frames.add(packet(1)[:100])
    await asyncio.sleep(0.015)  # the hold ran out: its frame is on its way
    await frames.add(packet(2))
    assert sent == [packet(1)[:100], packet(2)]


async def test_nothing_goes_out_after_drop() -> None:
    frames, out = grouper(2, hold_s=0.01)
    await frames.add(packet(1))
    frames.drop()
    await asyncio.sleep(0.05)
    await frames.flush()
    assert out == []


def test_a_frame_must_hold_something() -> None:
    with pytest.raises(ValueError, match="frame_bytes"):
        PacketGrouper(0, 0.03, lambda frame: asyncio.sleep(0))
