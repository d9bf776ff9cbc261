"""SIP over UDP and TCP: listeners on one port that hand each message to the server.

In: datagrams and TCP byte streams. Out: `(bytes, Peer)` to `on_message` for every framed
message; `send(peer, bytes)` writes back over the same transport (UDP to the source address,
TCP on the connection the peer opened). TCP streams are framed by Content-Length; a stream
that cannot be framed is closed, which affects only that connection.
"""

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.telephony.sip.message import MAX_MESSAGE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Peer:
    """Where a message came from and how to answer it."""

    transport: str  # "udp" or "tcp"
    host: str
    port: int


OnMessage = Callable[[bytes, Peer], None]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, on_message: OnMessage) -> None:
        self.on_message = on_message

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if data.strip():  # CRLF keep-alives carry nothing
            self.on_message(data, Peer("udp", addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        log.debug("udp: %s", exc)


class SipTransport:
    """UDP and/or TCP listeners on (host, port)."""

    def __init__(self, on_message: OnMessage) -> None:
        self.on_message = on_message
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._streams: dict[Peer, asyncio.StreamWriter] = {}

    async def start(self, host: str, port: int, transports: list[str]) -> None:
        loop = asyncio.get_running_loop()
        if "udp" in transports:
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _Udp(self.on_message), local_addr=(host, port)
            )
        if "tcp" in transports:
            self._tcp = await asyncio.start_server(self._serve_stream, host, port)

    def send(self, peer: Peer, data: bytes) -> bool:
        """Send `data` to `peer`; False when it cannot go (the listener or the peer's TCP
        connection is closed)."""
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
        return True

    async def _serve_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        host, port = writer.get_extra_info("peername")[:2]
        peer = Peer("tcp", host, port)
        self._streams[peer] = writer
        try:
            while data := await read_framed(reader):
                self.on_message(data, peer)
        except (ValueError, ConnectionError, asyncio.IncompleteReadError) as exc:
            log.info("sip: closing tcp connection from %s:%d: %s", host, port, exc)
        finally:
            self._streams.pop(peer, None)
            writer.close()

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            for writer in list(self._streams.values()):
                writer.close()
            await self._tcp.wait_closed()


async def read_framed(reader: asyncio.StreamReader) -> bytes:
    """One SIP message from a stream (b'' at end of stream); ValueError if it cannot be
    framed (no Content-Length value, or too large)."""
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial.strip():
                raise ValueError("stream ended inside a message") from None
            return b""
        except asyncio.LimitOverrunError:
            raise ValueError("headers too long") from None
        if head.strip():
            break  # else a CRLF keep-alive
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() in (b"content-length", b"l"):
            if not value.strip().isdigit():
                raise ValueError(f"bad Content-Length {value.strip()[:20]!r}")
            length = int(value)
    if length + len(head) > MAX_MESSAGE:
        raise ValueError("message too large")
    return head.lstrip() + await reader.readexactly(length)


def local_address(bound_host: str, peer_host: str) -> str:
    """Our address as `peer_host` sees it: the bound host, or when bound to every address,
    the one the system routes to the peer from."""
    if bound_host not in ("0.0.0.0", "::", ""):
        return bound_host
    family = socket.AF_INET6 if ":" in peer_host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect((peer_host, 9))  # UDP connect sends nothing; it only picks a route
        return probe.getsockname()[0]
