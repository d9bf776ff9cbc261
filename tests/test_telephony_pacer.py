"""The packet clock (pipeline/telephony/pacer.py): every started pacer of a loop ticks every
20 ms from one task; a leg whose send fails does not stop the others; the clock's task ends
when no pacer is left."""

import asyncio

from pipeline.telephony.call_media import PACKET_BYTES
from pipeline.telephony.pacer import PACKET_S, Pacer, packet_clock


def test_pacers_share_one_clock_and_send_in_20_ms_packets() -> None:
    async def scenario() -> tuple[list[list[bytes]], int, bool]:
        sent: list[list[bytes]] = [[], []]
        pacers = [Pacer(sent[0].append), Pacer(sent[1].append)]
        pacers[0].write(b"\1" * (PACKET_BYTES + 10))  # one packet and a padded second
        before = len(asyncio.all_tasks())
        for pacer in pacers:
            pacer.start()
        tasks = len(asyncio.all_tasks()) - before
        await asyncio.sleep(10.5 * PACKET_S)
        for pacer in pacers:
            await pacer.stop()
        await asyncio.sleep(3 * PACKET_S)
        return sent, tasks, packet_clock()._task is None

    sent, tasks, ended = asyncio.run(scenario())
    assert tasks == 1
    assert ended
    assert 8 <= len(sent[0]) <= 11 and abs(len(sent[0]) - len(sent[1])) <= 1
    assert sent[0][:2] == [b"\1" * PACKET_BYTES, b"\1" * 10 + b"\0" * (PACKET_BYTES - 10)]
    assert set(sent[0][2:]) == {b""} and set(sent[1]) == {b""}


def test_a_failing_leg_does_not_stop_the_others() -> None:
    def broken(_chunk: bytes) -> None:
        raise OSError("network unreachable")

    async def scenario() -> int:
        sent: list[bytes] = []
        failing, working = Pacer(broken), Pacer(sent.append)
        failing.start()
        working.start()
        await asyncio.sleep(5.5 * PACKET_S)
        await failing.stop()
        await working.stop()
        return len(sent)

    assert asyncio.run(scenario()) >= 4
