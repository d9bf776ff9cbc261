"""SIP over UDP and TCP: listeners on one port that hand each message to the server.

In: datagrams and TCP byte streams. Out: `(bytes, Peer)` to `on_message` for every framed
message; `send(peer, bytes)` writes back over the same transport (UDP to the source address,
TCP on the connection the peer opened). Nothing from a source that `allows(host)` refuses is
read: its datagrams are dropped before parsing (counted in `dropped`, never answered) and its
connections closed at accept. TCP is bounded by `TcpLimits`: connections open at once, in all
and from one address (more are closed at accept), time without a message (idle), time to finish
a message once begun (slowloris), and the bytes queued for a peer that does not read (its
connection is closed). TCP streams are framed by Content-Length; a stream that cannot be framed
is closed, which affects only that connection.
"""

import asyncio
import logging
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.telephony.sip.message import MAX_MESSAGE

log = logging.getLogger(__name__)
CRLF = b"\r\n"


@dataclass(frozen=True)
class Peer:
    """Where a message came from and how to answer it."""

    transport: str  # "udp" or "tcp"
    host: str
    port: int


@dataclass(frozen=True)
class TcpLimits:
    max_connections: int = 256
    max_per_peer: int = 32  # of those, from one address
    idle_timeout_s: float = 300.0  # no message begun this long: close
    message_timeout_s: float = 5.0  # a message begun must be whole within this
    send_buffer: int = 256 * 1024  # bytes queued for a peer that does not read: close


OnMessage = Callable[[bytes, Peer], None]
Allows = Callable[[str], bool]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, on_message: OnMessage, allows: Allows, dropped: Counter[str]) -> None:
        self.on_message, self.allows, self.dropped = on_message, allows, dropped

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if not self.allows(addr[0]):
            self.dropped["peer"] += 1  # not read, not answered: nothing to reflect
        elif data.strip():  # CRLF keep-alives carry nothing
            self.on_message(data, Peer("udp", addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        log.debug("udp: %s", exc)


class SipTransport:
    """UDP and/or TCP listeners on (host, port) that take messages only from allowed peers."""

    def __init__(self, on_message: OnMessage, allows: Allows, tcp: TcpLimits = TcpLimits()) -> None:
        self.on_message, self.allows, self.limits = on_message, allows, tcp
        self.dropped: Counter[str] = Counter()  # why datagrams/connections were not read
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._streams: dict[Peer, asyncio.StreamWriter] = {}
        self._per_host: Counter[str] = Counter()  # open connections by source address

    async def start(self, host: str, port: int, transports: list[str]) -> None:
        loop = asyncio.get_running_loop()
        if "udp" in transports:
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self.on_message, self.allows, self.dropped), local_addr=(host, port)
            )
        if "tcp" in transports:
            self._tcp = await asyncio.start_server(
                self._serve_stream, host, port, limit=MAX_MESSAGE
            )

    def send(self, peer: Peer, data: bytes) -> bool:
        """Send `data` to `peer`; False when it cannot go (the listener or the peer's TCP
        connection is closed, or that peer has left more than the send buffer unread)."""
        if peer.transport == "udp":
            if self._udp is None or self._udp.is_closing():
                return False
            self._udp.sendto(data, (peer.host, peer.port))
            return True
        writer = self._streams.get(peer)
        if writer is None or writer.is_closing():
            log.info("sip: no open connection to %s:%d; message not sent", peer.host, peer.port)
            return False
        writer.write(data)
        if writer.transport.get_write_buffer_size() > self.limits.send_buffer:
            log.info("sip: %s:%d does not read what we send; closing", peer.host, peer.port)
            self.dropped["tcp unread"] += 1
            writer.transport.abort()
            return False
        return True

    async def _serve_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        peername = writer.get_extra_info("peername")
        if peername is None:  # gone before we got to it
            writer.close()
            return
        host, port = peername[:2]
        refused = self._refusal(host)
        if refused:
            self.dropped[refused] += 1
            log.debug("sip: tcp connection from %s:%d closed at accept (%s)", host, port, refused)
            writer.transport.abort()
            return
        peer = Peer("tcp", host, port)
        self._streams[peer] = writer
        self._per_host[host] += 1
        try:
            while data := await read_framed(reader, self.limits):
                self.on_message(data, peer)
        except TimeoutError:
            log.info("sip: closing tcp connection from %s:%d: too slow", host, port)
        except (ValueError, ConnectionError, asyncio.IncompleteReadError) as exc:
            log.info("sip: closing tcp connection from %s:%d: %s", host, port, exc)
        finally:
            self._streams.pop(peer, None)
            self._per_host[host] -= 1
            if not self._per_host[host]:
                del self._per_host[host]
            writer.close()

    def _refusal(self, host: str) -> str:
        """Why a new connection from `host` is closed at accept ('' to serve it)."""
        if not self.allows(host):
            return "peer"
        if len(self._streams) >= self.limits.max_connections:
            return "tcp full"
        return "tcp full" if self._per_host[host] >= self.limits.max_per_peer else ""

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            for writer in list(self._streams.values()):
                writer.close()
            await self._tcp.wait_closed()


async def read_framed(reader: asyncio.StreamReader, limits: TcpLimits = TcpLimits()) -> bytes:
    """One SIP message from a stream (b'' at end of stream). CRLF keep-alives between
    messages are skipped. Raises TimeoutError when no message begins within the idle timeout
    or one begun is not whole within the message timeout, ValueError if it cannot be framed
    (no Content-Length value, or too large)."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(limits.idle_timeout_s) as deadline:
        while True:
            first = await reader.read(1)
            if not first:
                return b""
            if first not in CRLF:
                break
        deadline.reschedule(loop.time() + limits.message_timeout_s)
        try:
            head = first + await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            raise ValueError("stream ended inside a message") from None
        except asyncio.LimitOverrunError:
            raise ValueError("headers too long") from None
        length = content_length(head)
        if length + len(head) > MAX_MESSAGE:
            raise ValueError("message too large")
        return head + await reader.readexactly(length)


def content_length(head: bytes) -> int:
    """The Content-Length of a message head (0 when absent); ValueError if not digits."""
    length = 0
    for line in head.split(CRLF):
        name, _, value = line.partition(b":")
        if name.strip().lower() in (b"content-length", b"l"):
            value = value.strip()
            if not value.isdigit() or len(value) > 6:  # bytes.isdigit() is ASCII only
                raise ValueError(f"bad Content-Length {value[:20]!r}")
            length = int(value)
    return length


def local_address(bound_host: str, peer_host: str) -> str:
    """Our address as `peer_host` sees it: the bound host, or when bound to every address,
    the one the system routes to the peer from."""
    if bound_host not in ("0.0.0.0", "::", ""):
        return bound_host
    family = socket.AF_INET6 if ":" in peer_host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect((peer_host, 9))  # UDP connect sends nothing; it only picks a route
        return probe.getsockname()[0]
