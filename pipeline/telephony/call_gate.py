"""Who may place a call and whether there is room for one more: the gate every carrier asks.

In: the source address of a new call (or of any packet, for a listener that drops strangers
before reading them). Out: `allows(host)` (inside agent.allowed_peers?), `refusal(host)`:
None to admit, else why not ("peer": outside the allow-list, "draining": the agent is
stopping, "busy": agent.max_calls calls already), and `take()`, which holds a place for an
admitted call and returns the function that gives it back (idempotent).

`LocalCallGate` is the gate of one listener on its own (tests and tools that run a bare SIP
server); the agent's `CallIntake` (pipeline/intake/calls.py) is one gate shared by every
carrier of a process, so agent.max_calls counts SIP, AudioSocket, WebSocket and WebRTC calls
together.
"""

import ipaddress
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Literal, Protocol

Refusal = Literal["peer", "draining", "busy"]
Release = Callable[[], None]
REMEMBERED_HOSTS = 4096  # source addresses whose verdict is cached (bounded, LRU)


class CallGate(Protocol):
    def allows(self, host: str) -> bool: ...

    def refusal(self, host: str) -> Refusal | None: ...

    def take(self) -> Release: ...


class PeerFilter:
    """Allows a source address when it is inside one of the configured networks; the
    verdict for a host is cached, so a flood from one source costs one lookup each."""

    def __init__(self, allowed: Iterable[object]) -> None:
        self.networks = [ipaddress.ip_network(str(cidr), strict=False) for cidr in allowed]
        self.allows: Callable[[str], bool] = lru_cache(maxsize=REMEMBERED_HOSTS)(self._allows)

    def _allows(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.split("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


class LocalCallGate:
    """An allow-list and a count of places held, for one listener on its own."""

    def __init__(
        self,
        allowed: Iterable[object],
        max_calls: int,
        accepting: Callable[[], bool] = lambda: True,
    ) -> None:
        self.peers = PeerFilter(allowed)
        self.max_calls = max_calls
        self.accepting = accepting
        self.held = 0

    def allows(self, host: str) -> bool:
        return self.peers.allows(host)

    def refusal(self, host: str) -> Refusal | None:
        if not self.allows(host):
            return "peer"
        if not self.accepting():
            return "draining"
        return "busy" if self.held >= self.max_calls else None

    def take(self) -> Release:
        self.held += 1
        given_back = False

        def release() -> None:
            nonlocal given_back
            if not given_back:
                given_back = True
                self.held -= 1

        return release
