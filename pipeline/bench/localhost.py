"""Local ports and HTTP probes for the processes a benchmark or test starts on this machine.

In: nothing, a count, or a URL. Out: free TCP ports on 127.0.0.1 (several at once are
distinct: each is held open until all are chosen, so the kernel cannot hand the same one out
twice); the HTTP status a GET of the URL answers (None when nothing answers).
"""

import contextlib
import socket
import urllib.error
import urllib.request


def free_ports(count: int) -> list[int]:
    """`count` distinct free TCP ports on 127.0.0.1."""
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
        return ports


def free_port() -> int:
    """One free TCP port on 127.0.0.1."""
    return free_ports(1)[0]


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """HTTP status of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None
