"""Local ports and HTTP probes for the processes a benchmark or test starts on this machine.

In: nothing, or a URL. Out: a free TCP port on 127.0.0.1; the HTTP status a GET of the URL
answers (None when nothing answers).
"""

import socket
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """HTTP status of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None
