"""RtpLeg's silence timeout over real UDP: a caller who vanished without a BYE ends the leg;
one who keeps sending, or who put the agent on hold, does not."""

import asyncio

from test_telephony_rtp import DTMF_PT, PCMU, Phone, level

from pipeline.telephony.rtp import RtpLeg

TIMEOUT_S = 0.6


async def _started_leg(phone_sends_every_s: float | None, direction: str = "sendrecv") -> RtpLeg:
    """A leg with the timeout, its phone sending every `phone_sends_every_s` (None: never)
    for 2 s; returns the leg after those 2 s, still open or ended."""
    leg = await RtpLeg.open("127.0.0.1", 32000, 32998, silence_timeout_s=TIMEOUT_S)
    phone = Phone(leg)
    leg.start(phone.address, PCMU, DTMF_PT)
    leg.set_remote(phone.address, direction)
    loop = asyncio.get_running_loop()
    end, seq = loop.time() + 2.0, 0
    while loop.time() < end:
        if phone_sends_every_s is not None:
            phone.send(seq, level(1000))
            seq += 1
        await asyncio.sleep(phone_sends_every_s or 0.05)
    phone.sock.close()
    return leg


async def _ended(leg: RtpLeg) -> bool:
    """Whether read() reaches the end of the leg (None) once the queued audio is read."""
    try:
        while (item := await asyncio.wait_for(leg.read(), 0.3)) is not None:
            del item
    except TimeoutError:
        return False
    return True


async def test_a_silent_caller_ends_the_leg() -> None:
    leg = await _started_leg(phone_sends_every_s=None)
    assert leg.timed_out
    assert await _ended(leg)
    await leg.close()


async def test_a_caller_who_keeps_sending_is_not_cut_off() -> None:
    leg = await _started_leg(phone_sends_every_s=0.02)
    assert not leg.timed_out
    assert isinstance(await asyncio.wait_for(leg.read(), 1.0), bytes)  # the caller's audio
    await leg.close()


async def test_hold_is_not_a_timeout() -> None:
    leg = await _started_leg(phone_sends_every_s=None, direction="inactive")
    assert not leg.timed_out
    assert not await _ended(leg)
    await leg.close()
