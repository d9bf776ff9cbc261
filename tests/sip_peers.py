"""Helpers for SIP tests with real peers: a SIP server with a real handler running in a
thread, an RTP capture (pcap) of spoken audio and DTMF for sipp's play_pcap_audio, and
running sipp scenarios from tests/sipp/.

In: settings overrides, text to speak, a scenario name. Out: the running server (and what
its handler saw), a pcap file, sipp's exit status and output.
"""

import asyncio
import contextlib
import hashlib
import random
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from speech_server_fixture import free_port

from pipeline.intake.calls import count_not_started
from pipeline.settings import AgentSettings
from pipeline.telephony.call_media import DTMF_DIGITS
from pipeline.telephony.dtmf_events import event_payload
from pipeline.telephony.rtp_packet import RtpPacket, build, encode_payload
from pipeline.telephony.sip.handler import CallHandler
from pipeline.telephony.sip.header_values import header_param
from pipeline.telephony.sip.server import SipServer

SCENARIOS = Path(__file__).parent / "sipp"
PCMU, DTMF_PT = 0, 101


@dataclass
class RunningSip:
    server: SipServer
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread

    @property
    def port(self) -> int:
        return self.server.settings.sip_port

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` on the server's loop (to read its state safely)."""

        async def _run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(_run(), self.loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def start_sip(
    handler: CallHandler, rtp_base: int, rtp_ports: int = 100, **agent: Any
) -> RunningSip:
    """A SipServer on a free port of 127.0.0.1 with `rtp_ports` RTP ports from `rtp_base`; it
    counts the calls it refuses in switchboard_agent_calls_total, as the agent's does."""
    settings = AgentSettings(
        host="127.0.0.1",
        sip_port=free_port(),
        rtp_port_min=rtp_base,
        rtp_port_max=rtp_base + rtp_ports - 1,
        **agent,
    )
    loop = asyncio.new_event_loop()
    server = SipServer(settings, handler, on_not_started=count_not_started)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    return RunningSip(server, loop, thread)


def rtp_packets(pcm8k: np.ndarray, dtmf: str = "") -> list[tuple[float, bytes]]:
    """(send time, RTP packet): the audio as 20 ms PCMU packets, then each DTMF digit as an
    RFC 4733 event (three updates and three end packets), 300 ms apart."""
    packets, seq, ts, t = [], 1, 0, 0.0
    pcm = pcm8k.astype("<i2").tobytes()
    for start in range(0, len(pcm) - 319, 320):
        payload = encode_payload("PCMU", pcm[start : start + 320])
        packets.append((t, build(RtpPacket(PCMU, seq, ts, 0x1234, payload))))
        seq, ts, t = seq + 1, ts + 160, t + 0.02
    for digit in dtmf:
        event = DTMF_DIGITS.index(digit)
        for i, end in enumerate([False] * 3 + [True] * 3):
            payload = event_payload(event, end, duration=160 * min(i + 1, 4))
            packets.append((t, build(RtpPacket(DTMF_PT, seq, ts, 0x1234, payload, i == 0))))
            seq, t = seq + 1, t + 0.02
        ts, t = ts + 160 * 15, t + 0.3
    return packets


def write_pcap(path: Path, packets: list[tuple[float, bytes]]) -> Path:
    """A libpcap file (Ethernet/IPv4/UDP) of the packets, as sipp's play_pcap_audio reads."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for when, rtp in packets:
        udp = struct.pack("!HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp  # fmt: skip
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        sec, usec = int(when), int(round((when % 1) * 1e6))
        out.append(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))
    return path


def sipp_command(
    scenario: str | Path,
    port: int,
    *,
    calls: int = 1,
    limit: int = 0,
    local_ip: str = "127.0.0.1",
    transport: str = "u1",
    keys: dict[str, str] | None = None,
    pause_ms: int = 1000,
    timeout_s: int = 60,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """sipp running tests/sipp/<scenario>.xml (or the file `scenario`) against
    127.0.0.1:`port`, `calls` at once, or `limit` at once when given (a bare <pause/> lasts
    `pause_ms`); sipp exits 0 when every call followed the scenario."""
    command = [
        "sipp", "127.0.0.1:" + str(port), "-sf", str(_scenario_file(scenario)),
        "-i", local_ip, "-p", str(free_port()), "-mp", str(free_port() & ~1),
        "-m", str(calls), "-l", str(limit or calls), "-r", str(limit or calls), "-t", transport,
        "-d", str(pause_ms), "-nostdin", "-trace_err",
        "-timeout", f"{timeout_s}s", "-timeout_error", *extra,
    ]  # fmt: skip
    for key, value in (keys or {}).items():
        command += ["-key", key, value]
    return command


def _scenario_file(scenario: str | Path) -> Path:
    return scenario if isinstance(scenario, Path) else SCENARIOS / f"{scenario}.xml"


def rejected_scenario(folder: Path, status: int) -> Path:
    """busy.xml expecting `status` instead of 486 (every refusal of an INVITE looks alike)."""
    path = folder / f"rejected_{status}.xml"
    path.write_text((SCENARIOS / "busy.xml").read_text().replace('"486"', f'"{status}"'))
    return path


def run_sipp(
    scenario: str | Path, port: int, cwd: Path, **options: Any
) -> subprocess.CompletedProcess:
    """Run sipp_command(scenario, port, **options) in `cwd` (where its error log goes)."""
    command = sipp_command(scenario, port, **options)
    timeout = options.get("timeout_s", 60) + 30
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)


def sipp_report(result: subprocess.CompletedProcess, cwd: Path) -> str:
    """sipp's output and its error log, for an assertion message."""
    errors = "\n".join(p.read_text(errors="replace")[-3000:] for p in cwd.glob("*_errors.log"))
    return f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}\n{errors}"


def sip_request(
    method: str,
    port: int,
    call_id: str,
    cseq: int,
    body: str = "",
    tag: str = "",
    *,
    from_tag: str = "f1",
    sent_by: str = "127.0.0.1:5099",
    branch: str = "",
    headers: tuple[str, ...] = (),
) -> bytes:
    """A request from a test caller at `sent_by` (From tag `from_tag`, To tag `tag`, a fresh
    branch unless `branch` is given), with `headers` (whole lines) added."""
    to_tag = f";tag={tag}" if tag else ""
    branch = branch or f"z9hG4bK{random.getrandbits(40):x}"
    head = [
        f"{method} sip:agent@127.0.0.1:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP {sent_by};branch={branch}",
        f"From: <sip:fuzz@127.0.0.1>;tag={from_tag}",
        f"To: <sip:agent@127.0.0.1>{to_tag}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:fuzz@{sent_by}>",
        "Max-Forwards: 70",
        *headers,
        *(["Content-Type: application/sdp"] if body else []),
        f"Content-Length: {len(body)}",
    ]
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode()


def digest_authorization(challenge: str, method: str, uri: str, user: str, password: str) -> str:
    """An Authorization header line answering a `WWW-Authenticate` digest challenge
    (MD5, qop=auth, as RFC 2617 and our server's challenge say)."""
    params = ";" + challenge.partition(" ")[2].replace(",", ";")  # Digest a="1", b="2"
    nonce, realm = header_param(params, "nonce"), header_param(params, "realm")

    def md5(text: str) -> str:
        return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - digest is MD5 by spec

    ha1, ha2 = md5(f"{user}:{realm}:{password}"), md5(f"{method}:{uri}")
    digest = md5(f"{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}")
    return (
        f'Authorization: Digest username="{user}", realm="{realm}", nonce="{nonce}", '
        f'uri="{uri}", response="{digest}", qop=auth, nc=00000001, cnonce="c0ffee"'
    )


def sdp(rtp_port: int) -> str:
    """An offer of PCMU and telephone-event with RTP at 127.0.0.1:`rtp_port`."""
    return (
        "v=0\r\no=f 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {rtp_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
    )


@contextlib.contextmanager
def caller_sockets(timeout: float) -> Iterator[tuple[socket.socket, socket.socket]]:
    """A test caller's (SIP, RTP) UDP sockets on 127.0.0.1, free ports, the SIP one with
    `timeout`; both closed on exit."""
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sig,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtp,
    ):
        sig.bind(("127.0.0.1", 0))
        rtp.bind(("127.0.0.1", 0))
        sig.settimeout(timeout)
        yield sig, rtp


def await_status(sock: socket.socket, status: int, timeout: float = 10.0) -> bytes:
    """The next response with `status` on `sock` (others are skipped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = sock.recv(65535)
        if data.startswith(f"SIP/2.0 {status}".encode()):
            return data
    raise AssertionError(f"no {status}")
