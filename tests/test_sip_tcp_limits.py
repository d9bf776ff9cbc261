"""SIP over TCP against a live SIP server (the echo handler in a process of its own,
agent.allowed_peers 127.0.0.3/32): a stranger's connection and connections past
agent.sip_tcp_max_connections are closed at accept, a slowloris and an idle connection are
closed after their timeouts, and a peer that never reads is cut off once its unread answers
pass the send buffer, without the server growing."""

import contextlib
import socket
import time

import pytest
from sip_echo_process import start_echo_process
from sip_peers import sip_request
from speech_server_fixture import free_port

pytestmark = pytest.mark.timeout(120)
STRANGER, CALLER, OTHER = "127.0.0.1", "127.0.0.3", "127.0.0.4"
TCP_CAP, PER_PEER, IDLE_S, MESSAGE_S = 8, 5, 3.0, 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    echo = start_echo_process(
        tmp_path_factory.mktemp("sip-tcp"),
        free_port(),
        allowed_peers=[f"{CALLER}/32", f"{OTHER}/32"],
        sip_tcp_max_connections=TCP_CAP,
        sip_tcp_max_per_peer=PER_PEER,
        sip_tcp_idle_timeout_s=IDLE_S,
        sip_tcp_message_timeout_s=MESSAGE_S,
    )
    yield echo
    echo.stop()


@contextlib.contextmanager
def _tcp(host: str, port: int, rcvbuf: int = 0):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((host, 0))
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    try:
        yield sock
    finally:
        sock.close()


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes `sock` within `seconds` (whatever it sent before is read)."""
    sock.settimeout(seconds)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65535):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return False


def _tcp_options(port: int, n: int = 1) -> bytes:
    return sip_request("OPTIONS", port, f"tcp-{n}", n, sent_by=f"{CALLER}:5099")


def test_a_strangers_connection_is_closed_unanswered(server):
    with _tcp(STRANGER, server.port) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(sip_request("OPTIONS", server.port, "s", 1))
        assert _closed_within(sock, 2.0)


def test_tcp_slowloris_and_idle_connections_are_closed_after_their_timeouts(server):
    with _tcp(CALLER, server.port) as idle, _tcp(CALLER, server.port) as slow:
        start = time.monotonic()
        slow.sendall(_tcp_options(server.port)[:40])  # a message begun, never finished
        assert _closed_within(slow, MESSAGE_S + 3)
        slow_s = time.monotonic() - start
        assert _closed_within(idle, IDLE_S + 3)
        idle_s = time.monotonic() - start
    assert MESSAGE_S * 0.9 <= slow_s < IDLE_S and idle_s >= IDLE_S * 0.9, (slow_s, idle_s)
    with _tcp(CALLER, server.port) as drip:  # a byte at a time: the message timeout still holds
        start = time.monotonic()
        closed = False
        for byte in _tcp_options(server.port):
            try:
                drip.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.1)
            if time.monotonic() - start > MESSAGE_S + 3:
                break
        assert closed or _closed_within(drip, 1.0)


def _held_and_refused(server, hosts: list[str], extra_from: str) -> None:
    """Connections from `hosts` are each served; one more from `extra_from` is closed at
    accept; once the first has gone, a new one from `extra_from` is served."""
    with contextlib.ExitStack() as stack:
        held = [stack.enter_context(_tcp(host, server.port)) for host in hosts]
        for n, sock in enumerate(held):  # each is served
            sock.sendall(_tcp_options(server.port, n + 1))
            assert sock.recv(65535).startswith(b"SIP/2.0 200")
        with _tcp(extra_from, server.port) as extra:
            with contextlib.suppress(OSError):
                extra.sendall(_tcp_options(server.port))
            assert _closed_within(extra, 2.0)
        held[0].close()
        time.sleep(0.3)
        with _tcp(extra_from, server.port) as again:  # room again once one has gone
            again.sendall(_tcp_options(server.port))
            assert again.recv(65535).startswith(b"SIP/2.0 200")


def test_tcp_connections_past_the_cap_are_closed_at_accept(server):
    half = TCP_CAP // 2  # under the per-peer cap from each of two peers
    _held_and_refused(server, [CALLER] * half + [OTHER] * half, extra_from=CALLER)


def test_one_peer_cannot_take_every_tcp_connection(server):
    _held_and_refused(server, [CALLER] * PER_PEER, extra_from=CALLER)


def test_a_tcp_peer_that_never_reads_is_cut_off(server):
    call_id = "unread-" + "x" * 30_000  # every 200 copies it: ~30 KB an answer
    request = sip_request("OPTIONS", server.port, call_id, 1, sent_by=f"{CALLER}:5099")
    before = server.rss()
    with _tcp(CALLER, server.port, rcvbuf=4096) as sock:
        sent = 0
        with contextlib.suppress(OSError):
            for _ in range(400):  # 12 MB of answers, if it kept them all
                sock.sendall(request)
                sent += 1
        time.sleep(1.0)
        grown = server.rss() - before
        received = 0
        with contextlib.suppress(OSError):
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
    assert received < sent * 30_000 // 2, (received, sent)  # it was cut off, not served
    assert grown < 20 * 2**20, f"grew {grown / 2**20:.1f} MB"
