"""Handing a batch's answers back to the callers: one wake-up per event loop per batch.

In: the requests of one scored batch, each with the future its caller waits on (an asyncio
future of some event loop, or a concurrent Future for a thread), and for each a probability
or an exception. Out: every future resolved; all the asyncio futures of one loop in a single
`call_soon_threadsafe`, so a batch of 256 turns from 4 loops costs 4 wake-ups, not 256.
"""

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import Future

Waiter = asyncio.Future | Future
Answer = tuple[Waiter, float | BaseException]


def deliver(answers: Iterable[Answer]) -> None:
    """Resolve each waiter with its probability or exception (see the module docstring)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Answer]] = defaultdict(list)
    for waiter, value in answers:
        if isinstance(waiter, asyncio.Future):
            by_loop[waiter.get_loop()].append((waiter, value))
        else:
            _resolve(waiter, value)
    for loop, loop_answers in by_loop.items():
        # RuntimeError: the caller's loop has closed; nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve_all, loop_answers)


def _resolve_all(answers: list[Answer]) -> None:
    for waiter, value in answers:
        _resolve(waiter, value)


def _resolve(waiter: Waiter, value: float | BaseException) -> None:
    if waiter.done():  # cancelled by its caller meanwhile
        return
    if isinstance(value, BaseException):
        waiter.set_exception(value)
    else:
        waiter.set_result(value)
