"""A test caller on a chosen loopback address: dials a SIP server over UDP (answering a digest
challenge), sends a tone as 20 ms PCMU packets and notes when the echo of it comes back.

In: the caller's address (127.0.0.x: Linux routes all of 127/8 to lo, so a test can play
several peers), the server's SIP port, digest credentials. Out: the dialog's tags and our
requests inside it, and the times at which RTP carrying speech (not the server's silence)
arrived.
"""

import socket
import threading
import time

import numpy as np
from sip_peers import PCMU, await_status, digest_authorization, sdp, sip_request

from pipeline.telephony.rtp_packet import RtpPacket, build, decode_payload, encode_payload
from pipeline.telephony.rtp_packet import parse as parse_rtp
from pipeline.telephony.sdp import parse_offer
from pipeline.telephony.sip.header_values import header_param
from pipeline.telephony.sip.message import parse

TONE = encode_payload(
    "PCMU", (6000 * np.sin(2 * np.pi * 440 * np.arange(160) / 8000)).astype("<i2").tobytes()
)


class EchoCall:
    """One call from `host` to the echo server at 127.0.0.1:`port`."""

    def __init__(self, host: str, port: int, call_id: str, auth: tuple[str, str]) -> None:
        self.host, self.port, self.call_id, self.auth = host, port, call_id, auth
        self.sig = _bound(host, timeout=5)
        self.rtp = _bound(host, timeout=0.5)
        self.sent_by = "{}:{}".format(*self.sig.getsockname())
        self.from_tag, self.to_tag, self.cseq = "caller", "", 1
        self.server_rtp: tuple[str, int] = ("", 0)
        self.heard: list[float] = []  # arrival times of RTP packets carrying speech
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def request(self, method: str, body: str = "", **options) -> bytes:
        """A request of this call (its tags and the next CSeq unless given)."""
        options.setdefault("tag", self.to_tag)
        options.setdefault("from_tag", self.from_tag)
        options.setdefault("sent_by", self.sent_by)
        if "cseq" not in options:
            self.cseq += 1
        cseq = options.pop("cseq", self.cseq)
        return sip_request(method, self.port, self.call_id, cseq, body, **options)

    def send(self, data: bytes) -> None:
        self.sig.sendto(data, ("127.0.0.1", self.port))

    def dial(self) -> None:
        """INVITE, answer the 401's challenge, take the 200, ACK it, start the audio."""
        offer = sdp(self.rtp.getsockname()[1]).replace("127.0.0.1", self.host)
        self.send(self.request("INVITE", offer, cseq=1, tag=""))
        challenge = parse(await_status(self.sig, 401)).get("WWW-Authenticate")
        self.send(self.request("ACK", cseq=1, tag=""))
        uri = f"sip:agent@127.0.0.1:{self.port}"
        line = digest_authorization(challenge, "INVITE", uri, *self.auth)
        self.send(self.request("INVITE", offer, tag="", headers=(line,)))
        ok = parse(await_status(self.sig, 200))
        self.to_tag = header_param(ok.get("To"), "tag")
        self.server_rtp = ("127.0.0.1", parse_offer(ok.body.decode()).port)
        self.send(self.request("ACK", cseq=self.cseq))
        for target in (self._talk, self._listen):
            self._threads.append(threading.Thread(target=target, daemon=True))
            self._threads[-1].start()

    def _talk(self) -> None:
        seq, start = 0, time.monotonic()
        while not self._stop.is_set():
            packet = RtpPacket(PCMU, seq & 0xFFFF, seq * 160, 0x5EED, TONE)
            self.rtp.sendto(build(packet), self.server_rtp)
            seq += 1
            time.sleep(max(0.0, start + seq * 0.02 - time.monotonic()))

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.rtp.recv(2048)
            except TimeoutError:
                continue
            pcm = np.frombuffer(decode_payload("PCMU", parse_rtp(data).payload), "<i2")
            if np.abs(pcm).max() > 1000:
                self.heard.append(time.monotonic())

    def heard_between(self, start: float, end: float) -> list[float]:
        return [t for t in self.heard if start <= t <= end]

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(2)
        self.sig.close()
        self.rtp.close()


def _bound(host: str, timeout: float) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(timeout)
    return sock


def max_gap(times: list[float], start: float, end: float) -> float:
    """The longest stretch within [start, end] with no time in `times`."""
    points = [start, *sorted(t for t in times if start <= t <= end), end]
    return max(b - a for a, b in zip(points, points[1:], strict=False))
