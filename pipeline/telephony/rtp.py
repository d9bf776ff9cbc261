"""One call's RTP leg (RFC 3550, G.711, RFC 4733 DTMF) as a `CallMedia`.

In: RTP datagrams from the negotiated remote address (all others are dropped and counted),
and the agent's 8 kHz PCM via `write`. Out: `read()` gives the caller's audio in sequence
order (a small jitter buffer that follows a new SSRC, a stream gone backwards and a move to a
new address; a lost packet becomes silence; a caller's phone that stops sending audio while
the caller is quiet, as silence suppression and comfort noise do, is heard as silence from
`QUIET_FILL_AFTER_S` after its last packet, a packet each 20 ms, the missed ones first),
one `Dtmf` per key press, and None once closed;
at most `INBOX_MAX` items wait for a reader that falls behind (more are dropped and counted).
A 20 ms pacer sends the agent's audio, or silence when it has none, with sequence numbers and
timestamps running on across silence and hold. With a silence timeout, a caller who sends
nothing for that long while not on hold is gone: `read()` gives None.
"""

import asyncio
import contextlib
import ipaddress
import logging
import random
from collections import Counter

from pipeline.telephony.call_media import PACKET_BYTES, Dtmf
from pipeline.telephony.dtmf_events import DtmfEvents
from pipeline.telephony.jitter_buffer import JitterBuffer
from pipeline.telephony.paced_leg import PacedLeg
from pipeline.telephony.pacer import PACKET_S, Pacer
from pipeline.telephony.rtp_packet import G711, RtpPacket, build, decode_payload, parse
from pipeline.telephony.rtp_packet import encode_payload as encode
from pipeline.telephony.sdp import DIRECTIONS, Codec

log = logging.getLogger(__name__)

SAMPLES = PACKET_BYTES // 2  # per 20 ms packet at 8 kHz
DRAIN_AFTER_S = 0.1  # a gap still open this long after the last packet is a loss
INBOX_MAX = 500  # items (10 s of audio) waiting for a reader that does not keep up
RECEIVING = ("sendrecv", "recvonly")  # our directions in which the caller's audio is played
QUIET_FILL_AFTER_S = 0.1  # no caller audio this long: the line plays silence until it resumes


class NoRtpPort(RuntimeError):
    """Every even UDP port of the configured RTP range is taken."""


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(host.split("%")[0])
    return getattr(ip, "ipv4_mapped", None) or ip


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.leg: RtpLeg | None = None

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        if self.leg is not None:
            self.leg._received(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("RTP socket error: %s", exc)  # e.g. ICMP port unreachable from the peer


class RtpLeg(PacedLeg):
    """See the module docstring; `open` it, then `start` it once the SDP is negotiated."""

    def __init__(
        self, transport: asyncio.DatagramTransport, local_port: int, silence_timeout_s: float = 0
    ) -> None:
        self.local_port = local_port
        self.timed_out = False  # ended because the caller sent no RTP for silence_timeout_s
        self.dropped: Counter[str] = Counter()  # why packets were dropped: foreign, malformed...
        self._transport = transport
        self._remote: tuple[str, int] | None = None
        self._remote_ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
        self._direction = "sendrecv"
        self._codec: Codec | None = None
        self._silence = b""  # one packet of silence in the codec
        self._dtmf_payload_type: int | None = None
        self._inbox: asyncio.Queue[bytes | Dtmf | None] = asyncio.Queue()
        self._jitter = JitterBuffer()
        self._dtmf = DtmfEvents()
        self._drain_timer: asyncio.TimerHandle | None = None
        self._timeout_s = silence_timeout_s
        self._watchdog: asyncio.TimerHandle | None = None
        self._last_heard = 0.0
        self._audio_until = 0.0  # loop time the caller's audio (real or filled) reaches
        self._pacer = Pacer(self._send_packet)
        self._sequence = random.getrandbits(16)
        self._timestamp = random.getrandbits(32)
        self._ssrc = random.getrandbits(32)
        self._talking = False
        self._closed = False

    @classmethod
    async def open(
        cls, host: str, port_min: int, port_max: int, silence_timeout_s: float = 0
    ) -> "RtpLeg":
        """Bind the first free even UDP port in [port_min, port_max] on `host`; a positive
        `silence_timeout_s` ends the leg when the caller sends nothing that long (not on hold)."""
        loop = asyncio.get_running_loop()
        for port in range(port_min + port_min % 2, port_max + 1, 2):
            try:
                transport, receiver = await loop.create_datagram_endpoint(
                    _Receiver, local_addr=(host, port)
                )
            except OSError:
                continue
            leg = cls(transport, port, silence_timeout_s)
            receiver.leg = leg
            return leg
        raise NoRtpPort(f"no free even UDP port for RTP in {port_min}-{port_max} on {host}")

    def start(self, remote: tuple[str, int], codec: Codec, dtmf_payload_type: int | None) -> None:
        """Begin sending to and receiving from `remote` with `codec` (PCMU or PCMA)."""
        if codec.name.upper() not in G711 or codec.clock_rate != 8000:
            raise ValueError(f"RTP leg speaks PCMU/PCMA at 8000 Hz, not {codec}")
        self._codec = Codec(codec.payload_type, codec.name.upper(), 8000)
        self._silence = encode(self._codec.name, bytes(PACKET_BYTES))  # sent while idle
        self._dtmf_payload_type = dtmf_payload_type
        self.set_remote(remote, self._direction)
        if not self._closed:
            self._pacer.start()
            if self._timeout_s > 0:
                self._watch()

    def set_remote(self, remote: tuple[str, int], direction: str) -> None:
        """New remote address and our direction (a re-INVITE: hold is recvonly or inactive)."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
        moved = self._remote is not None and self._remote != (remote[0], remote[1])
        self._remote, self._remote_ip = (remote[0], remote[1]), _ip(remote[0])
        if moved:  # a new media source: its stream starts afresh
            self._play(self._jitter.reset())
            self._dtmf = DtmfEvents()
        self._direction = direction
        self._heard()  # the silence timeout counts from a (re)negotiation

    async def read(self) -> bytes | Dtmf | None:
        item = await self._inbox.get()
        if item is None:
            self._inbox.put_nowait(None)  # every later read sees the end too
        return item

    def _closing(self) -> None:
        """Before the pacer stops: no more jitter drains or silence checks."""
        for timer in (self._drain_timer, self._watchdog):
            if timer is not None:
                timer.cancel()

    async def _release(self) -> None:
        """After the pacer stops: free the UDP port, and `read()` gives None from now on."""
        self._transport.close()
        self._inbox.put_nowait(None)

    def _received(self, data: bytes, addr: tuple) -> None:
        if self._closed or self._codec is None:
            self.dropped["not started"] += 1
            return
        if addr[1] != self._remote[1] or _ip(addr[0]) != self._remote_ip:
            self.dropped["foreign"] += 1
            return
        try:
            packet = parse(data)
        except ValueError:
            self.dropped["malformed"] += 1
            return
        self._heard()
        if packet.payload_type == self._dtmf_payload_type:
            digit = self._dtmf.feed(packet.timestamp, packet.payload)
            if digit is not None:
                self._enqueue(digit)
        elif packet.payload_type != self._codec.payload_type:
            self.dropped["payload type"] += 1
        elif self._direction in RECEIVING:
            self._play(self._jitter.push(packet.ssrc, packet.sequence, packet.payload))
            if self._drain_timer is not None:
                self._drain_timer.cancel()
            if self._jitter.held:
                loop = asyncio.get_running_loop()
                self._drain_timer = loop.call_later(DRAIN_AFTER_S, self._drain)

    def _heard(self) -> None:
        with contextlib.suppress(RuntimeError):  # no running loop: set_remote before the call
            self._last_heard = asyncio.get_running_loop().time()

    def _watch(self) -> None:
        """Every half timeout: end the leg once the caller has been silent too long."""
        if self._closed:
            return
        loop = asyncio.get_running_loop()
        quiet_s = loop.time() - self._last_heard
        if self._direction == "sendrecv" and quiet_s >= self._timeout_s:
            log.warning(
                "no RTP from %s:%d for %.0f s (agent.rtp_timeout_s): the caller is gone",
                *self._remote,
                quiet_s,
            )
            self.timed_out = True
            self._inbox.put_nowait(None)
            return
        self._watchdog = loop.call_later(self._timeout_s / 2, self._watch)

    def _drain(self) -> None:
        self._play(self._jitter.drain())

    def _play(self, payloads: list[bytes | None]) -> None:
        for payload in payloads:
            if payload is None:
                self._enqueue(bytes(PACKET_BYTES))  # a lost packet: 20 ms of silence
            elif payload:
                self._enqueue(decode_payload(self._codec.name, payload))
        if payloads:
            self._audio_until = asyncio.get_running_loop().time()

    def _fill_quiet_line(self) -> None:
        """On each 20 ms tick: once the caller has sent no audio for QUIET_FILL_AFTER_S (and
        none is held for reordering), silence up to now, so the pipeline hears a pause end."""
        if not self._audio_until or self._jitter.held or self._direction not in RECEIVING:
            return
        now = asyncio.get_running_loop().time()
        if now - self._audio_until < QUIET_FILL_AFTER_S:
            return
        while self._audio_until + PACKET_S <= now:
            self._enqueue(bytes(PACKET_BYTES))
            self._audio_until += PACKET_S

    def _enqueue(self, item: bytes | Dtmf) -> None:
        if self._inbox.qsize() >= INBOX_MAX:
            self.dropped["overflow"] += 1
        else:
            self._inbox.put_nowait(item)

    def _send_packet(self, chunk: bytes) -> None:
        """The pacer's 20 ms tick: send the agent's next packet; fill a quiet caller's line."""
        self._fill_quiet_line()
        starts_talkspurt = bool(chunk) and not self._talking
        self._talking = bool(chunk)
        sending = self._direction in ("sendrecv", "sendonly") and self._remote_ip is not None
        if sending and not self._remote_ip.is_unspecified:
            payload = encode(self._codec.name, chunk) if chunk else self._silence
            packet = RtpPacket(
                self._codec.payload_type,
                self._sequence,
                self._timestamp,
                self._ssrc,
                payload,
                marker=starts_talkspurt,
            )
            try:
                self._transport.sendto(build(packet), self._remote)
            except OSError as exc:
                log.debug("RTP send to %s failed: %s", self._remote, exc)
            self._sequence = (self._sequence + 1) & 0xFFFF
        self._timestamp = (self._timestamp + SAMPLES) & 0xFFFFFFFF
