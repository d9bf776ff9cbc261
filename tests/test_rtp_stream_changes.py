"""The caller's RTP stream changes mid-call and the agent keeps hearing it.

The jitter buffer alone (a new SSRC whose sequence numbers are behind, a stream that jumps
backwards by 30000, a stray or replayed packet that must not reset anything, a media move,
bounded state under random input); an RtpLeg over real UDP (new SSRC, a move to a new address
while packets from the old one are dropped); and a live SIP call to a SipServer with the echo
handler where the caller switches SSRC with its sequence "behind", then moves its media with a
re-INVITE, and the echo comes back after each change, to the new address after the move."""

import random
import socket
import time

import numpy as np
from sip_peers import await_status, caller_sockets, sdp, sip_request, start_sip
from test_telephony_rtp import DTMF_PT, PCMU, Phone, heard, level, read_levels

from pipeline.telephony.jitter_buffer import RESYNC_AFTER, JitterBuffer
from pipeline.telephony.rtp import RtpLeg
from pipeline.telephony.rtp_packet import RtpPacket, build, decode_payload, parse
from pipeline.telephony.sdp import parse_offer
from pipeline.telephony.sip.handler import EchoHandler
from pipeline.telephony.sip.header_values import header_param
from pipeline.telephony.sip.message import parse as parse_sip

OLD, NEW = 0x1111, 0x2222  # SSRCs


def _play(buffer: JitterBuffer, ssrc: int, sequences: list[int]) -> list[bytes | None]:
    """Push a packet per sequence number (its payload names it); what came out, in order."""
    out: list[bytes | None] = []
    for sequence in sequences:
        out += buffer.push(ssrc, sequence & 0xFFFF, b"%d" % (sequence & 0xFFFF))
    return out


def _named(sequences: list[int]) -> list[bytes]:
    return [b"%d" % (s & 0xFFFF) for s in sequences]


def test_a_new_ssrc_behind_the_old_stream_takes_over_without_losing_a_packet() -> None:
    buffer = JitterBuffer()
    assert _play(buffer, OLD, list(range(40000, 40010))) == _named(list(range(40000, 40010)))
    new = list(range(100, 120))  # far "behind" 40010: late for the old stream
    assert _play(buffer, NEW, new) == _named(new)
    assert buffer.ssrc == NEW and buffer.resyncs == 1 and buffer.late == 0


def test_one_stray_packet_of_another_ssrc_changes_nothing() -> None:
    buffer = JitterBuffer()
    out = _play(buffer, OLD, [1, 2, 3])
    out += buffer.push(NEW, 9000, b"stray")  # one spoofed or stray packet
    out += _play(buffer, OLD, [4, 5])
    out += buffer.push(NEW, 9000, b"stray")  # again, the same one (a replay)
    out += _play(buffer, OLD, [6])
    assert out == _named([1, 2, 3, 4, 5, 6])
    assert buffer.ssrc == OLD and buffer.resyncs == 0 and buffer.strays == 2


def test_a_stream_that_jumps_backwards_by_30000_is_followed() -> None:
    buffer = JitterBuffer()
    _play(buffer, OLD, list(range(35000, 35010)))
    behind = list(range(5010, 5060))  # 30000 behind, same SSRC
    out = _play(buffer, OLD, behind)
    assert out == _named(behind)  # the packets that proved the new stream play too
    assert buffer.late == RESYNC_AFTER and buffer.resyncs == 1


def test_late_packets_out_of_sequence_do_not_resync() -> None:
    buffer = JitterBuffer()
    rng = random.Random(7)
    out: list[bytes | None] = []
    for sequence in range(1000, 1200):
        out += _play(buffer, OLD, [sequence])
        out += buffer.push(OLD, rng.randrange(1000, sequence + 1), b"replay")  # old copies
    assert out == _named(list(range(1000, 1200)))
    assert buffer.resyncs == 0 and buffer.late >= 150


def test_reset_plays_what_is_held_and_starts_the_next_stream_afresh() -> None:
    buffer = JitterBuffer()
    assert _play(buffer, OLD, [10, 12]) == _named([10])  # 11 missing: 12 waits
    assert buffer.reset() == [None, b"12"]
    assert _play(buffer, OLD, [3]) == _named([3])  # behind, same SSRC: plays at once


def test_state_stays_bounded_under_random_packets() -> None:
    buffer, rng = JitterBuffer(), random.Random(1)
    for _ in range(20000):
        buffer.push(rng.choice((OLD, NEW, 0x3333)), rng.getrandbits(16), b"x")
        assert buffer.held <= buffer.depth + 1
        assert len(buffer._candidate) <= RESYNC_AFTER


class _Ssrc(Phone):
    """A phone whose packets carry a chosen SSRC."""

    def send_as(self, ssrc: int, seq: int, value: int) -> None:
        packet = RtpPacket(
            PCMU.payload_type, seq & 0xFFFF, seq * 160 & 0xFFFFFFFF, ssrc, level(value)
        )
        self.sock.sendto(build(packet), self.leg_address)


async def test_leg_hears_a_new_ssrc_whose_sequence_is_behind() -> None:
    leg = await RtpLeg.open("127.0.0.1", 29300, 29398)
    phone = _Ssrc(leg)
    leg.start(phone.address, PCMU, DTMF_PT)
    try:
        for seq in range(30000, 30005):
            phone.send_as(OLD, seq, 1000)
        assert await read_levels(leg, 5) == [heard(1000)] * 5
        for seq in range(10, 15):  # a new sender (an SBC failed over), sequence far behind
            phone.send_as(NEW, seq, 2000)
        assert await read_levels(leg, 5) == [heard(2000)] * 5
    finally:
        await leg.close()
        phone.sock.close()


async def test_leg_follows_a_move_to_a_new_address_and_drops_the_old_one() -> None:
    leg = await RtpLeg.open("127.0.0.1", 29300, 29398)
    first, moved = _Ssrc(leg), _Ssrc(leg)
    leg.start(first.address, PCMU, DTMF_PT)
    try:
        first.send_as(OLD, 40000, 1000)
        assert await read_levels(leg, 1) == [heard(1000)]
        leg.set_remote(moved.address, "sendrecv")  # a re-INVITE moved the media
        first.send_as(OLD, 40001, 1500)  # the old address: no longer the caller
        moved.send_as(OLD, 20000, 2500)  # same SSRC, 20000 behind: heard at once
        assert await read_levels(leg, 1) == [heard(2500)]
        assert leg.dropped["foreign"] == 1
    finally:
        await leg.close()
        for phone in (first, moved):
            phone.sock.close()


def _talk(
    rtp: socket.socket,
    agent: tuple[str, int],
    ssrc: int,
    first_seq: int,
    value: int,
    seconds: float = 0.8,
) -> list[int]:
    """Send `seconds` of 20 ms packets of `value` from `rtp`; the levels of the non-silent
    packets that came back on `rtp` meanwhile (and for 0.3 s after)."""
    rtp.setblocking(False)
    levels, seq, start = [], first_seq, time.monotonic()
    end = start + seconds
    while (now := time.monotonic()) < end + 0.3:
        if now < end and now >= start + 0.02 * (seq - first_seq):
            packet = RtpPacket(PCMU.payload_type, seq & 0xFFFF, seq * 160 & 0xFFFFFFFF, ssrc,
                               level(value))  # fmt: skip
            rtp.sendto(build(packet), agent)
            seq += 1
        try:
            payload = parse(rtp.recv(2048)).payload
        except BlockingIOError:
            time.sleep(0.002)
            continue
        sample = int(np.frombuffer(decode_payload("PCMU", payload), "<i2")[80])
        if sample:
            levels.append(sample)
    return levels


def test_live_call_keeps_its_audio_across_a_new_ssrc_and_a_media_move() -> None:
    sip = start_sip(EchoHandler(), rtp_base=29400, rtp_ports=20)
    agent_sip = ("127.0.0.1", sip.port)
    try:
        with (
            caller_sockets(timeout=5) as (sig, rtp),
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as moved,
        ):
            moved.bind(("127.0.0.1", 0))
            sig.sendto(sip_request("INVITE", sip.port, "ssrc", 1, sdp(rtp.getsockname()[1])),
                       agent_sip)  # fmt: skip
            ok = parse_sip(await_status(sig, 200))
            tag = header_param(ok.get("To"), "tag")
            answer = parse_offer(ok.body.decode())
            agent_rtp = (answer.address, answer.port)
            sig.sendto(sip_request("ACK", sip.port, "ssrc", 1, tag=tag), agent_sip)

            assert heard(1000) in _talk(rtp, agent_rtp, OLD, 40000, 1000)
            # the phone's SSRC changes and its sequence starts 30000 "behind"
            assert heard(3000) in _talk(rtp, agent_rtp, NEW, 10000, 3000), "deaf after new SSRC"

            reinvite = sip_request("INVITE", sip.port, "ssrc", 2, sdp(moved.getsockname()[1]),
                                   tag=tag)  # fmt: skip
            sig.sendto(reinvite, agent_sip)
            assert parse_sip(await_status(sig, 200)).cseq == (2, "INVITE")
            sig.sendto(sip_request("ACK", sip.port, "ssrc", 2, tag=tag), agent_sip)
            # the new address, same SSRC, its sequence behind again: echoed to the new address
            assert heard(5000) in _talk(moved, agent_rtp, NEW, 100, 5000), "deaf after move"

            sig.sendto(sip_request("BYE", sip.port, "ssrc", 3, tag=tag), agent_sip)
            await_status(sig, 200)
    finally:
        sip.stop()
