"""RFC 3261 retransmission over UDP: resend a message at T1, 2*T1, ... capped at T2, until
something happens or 64*T1 has passed (timers A/E/G with F/H as the limit).

In: a send callable (False: the message cannot go, so stop) and an event that stops it.
Out: True when the event was set in time.
"""

import asyncio
from collections.abc import Callable

T1 = 0.5
T2 = 4.0
TIMEOUT = 64 * T1


async def retransmit(
    send: Callable[[], bool], done: asyncio.Event, *, reliable: bool, timeout: float = TIMEOUT
) -> bool:
    """Send once, then again with backoff unless `reliable` (TCP); wait for `done`."""
    if not send():
        return done.is_set()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    interval = T1
    while (left := deadline - loop.time()) > 0:
        try:
            await asyncio.wait_for(done.wait(), min(interval, left) if not reliable else left)
            return True
        except TimeoutError:
            if not reliable and loop.time() < deadline:
                if not send():
                    break
                interval = min(interval * 2, T2)
    return done.is_set()
