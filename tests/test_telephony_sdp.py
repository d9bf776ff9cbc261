"""SDP offers from real peers (sipp's and baresip's INVITEs, caught on a UDP socket) and
hand-written edge cases: what we parse, which codec we take, the answer we build, and a clear
SdpError for every bad body."""

import socket
import subprocess
from pathlib import Path

import pytest
from speech_server_fixture import free_port

from pipeline.telephony.sdp import (
    Codec,
    SdpError,
    answer_direction,
    build_answer,
    choose_codec,
    parse_offer,
)

BARESIP_CONFIG = """poll_method epoll
sip_listen 127.0.0.1:{port}
net_interface 127.0.0.1
audio_player aufile,{dir}/heard.wav
audio_source aufile,{dir}/say.wav
module_path /usr/lib/baresip/modules
module opus.so
module g722.so
module g711.so
module aufile.so
module_app account.so
module_app menu.so
"""


def caught_offer(command: list[str]) -> str:
    """Start a SIP peer that INVITEs `{port}` on 127.0.0.1; the SDP body of its INVITE."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(30)
        port = str(sock.getsockname()[1])
        peer = subprocess.Popen(
            [part.replace("{port}", port) for part in command],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            message = sock.recv(65535).decode()
        finally:
            peer.kill()
            peer.wait(10)
    assert message.startswith("INVITE "), message[:200]
    return message.split("\r\n\r\n", 1)[1]


@pytest.fixture(scope="module")
def sipp_offer() -> str:
    return caught_offer(
        ["sipp", "-sn", "uac", "127.0.0.1:{port}", "-m", "1", "-nostdin", "-timeout", "10s"]
        + ["-i", "127.0.0.1", "-p", str(free_port())]
    )


@pytest.fixture(scope="module")
def baresip_offer(tmp_path_factory: pytest.TempPathFactory) -> str:
    config: Path = tmp_path_factory.mktemp("baresip")
    (config / "config").write_text(BARESIP_CONFIG.format(port=free_port(), dir=config))
    (config / "accounts").write_text("<sip:caller@127.0.0.1>;regint=0\n")
    dial = "/dial sip:agent@127.0.0.1:{port}"
    return caught_offer(["baresip", "-f", str(config), "-e", dial, "-t", "20"])


def test_sipp_offer_parsed_and_answered(sipp_offer: str) -> None:
    offer = parse_offer(sipp_offer)
    assert (offer.address, offer.port, offer.payload_types) == ("127.0.0.1", 6000, [0])
    assert offer.dtmf_payload_type is None and offer.direction == "sendrecv"
    codec = choose_codec(offer)
    assert codec == Codec(0, "PCMU", 8000)
    answer = build_answer(offer, codec, "127.0.0.1", 10002, 42)
    assert "m=audio 10002 RTP/AVP 0\r\n" in answer
    assert "telephone-event" not in answer and "a=ptime:20\r\n" in answer
    again = parse_offer(answer)  # our answer is valid SDP by our own parser
    assert (again.address, again.port, again.codecs[0].name) == ("127.0.0.1", 10002, "PCMU")


def test_baresip_offer_prefers_pcmu_and_keeps_telephone_event(baresip_offer: str) -> None:
    offer = parse_offer(baresip_offer)
    names = [offer.codecs[pt].name for pt in offer.payload_types if pt in offer.codecs]
    assert names[0] == "opus" and "PCMU" in names and "PCMA" in names, names
    assert offer.dtmf_payload_type is not None and offer.ptime == 20
    assert offer.address == "127.0.0.1" and offer.port > 0
    codec = choose_codec(offer)
    assert codec is not None and (codec.name, codec.payload_type) == ("PCMU", 0)
    answer = build_answer(offer, codec, "192.0.2.7", 10004, 7, answer_direction(offer.direction))
    dtmf = offer.dtmf_payload_type
    assert f"m=audio 10004 RTP/AVP 0 {dtmf}\r\n" in answer
    assert f"a=rtpmap:{dtmf} telephone-event/8000\r\na=fmtp:{dtmf} 0-16\r\n" in answer
    assert "c=IN IP4 192.0.2.7\r\n" in answer and answer.endswith("a=sendrecv\r\n")


def sdp(*media: str, session: str = "c=IN IP4 198.51.100.1\n") -> str:
    return "v=0\no=- 1 1 IN IP4 198.51.100.1\ns=-\n" + session + "t=0 0\n" + "".join(media)


def test_pcma_only_offer_gets_pcma_and_nothing_usable_gets_none() -> None:
    pcma = parse_offer(sdp("m=audio 4000 RTP/AVP 8 18\n"))
    assert choose_codec(pcma) == Codec(8, "PCMA", 8000)
    opus = parse_offer(sdp("m=audio 4000 RTP/AVP 96\na=rtpmap:96 opus/48000/2\n"))
    assert choose_codec(opus) is None
    wideband_pcmu = parse_offer(sdp("m=audio 4000 RTP/AVP 97\na=rtpmap:97 PCMU/16000\n"))
    assert choose_codec(wideband_pcmu) is None


def test_media_level_lines_override_session_level() -> None:
    text = sdp(
        "m=audio 0 RTP/AVP 0\n",  # a rejected stream: skipped
        "m=video 5002 RTP/AVP 96\nc=IN IP4 203.0.113.9\na=recvonly\n",
        "m=audio 5004 RTP/AVP 0 101\nc=IN IP4 203.0.113.5\na=rtpmap:101 telephone-event/8000\n",
        "a=sendonly\na=ptime:30\n",
        "m=audio 5006 RTP/AVP 8\n",  # a second audio stream: ignored
        session="c=IN IP4 198.51.100.1\na=inactive\n",
    )
    offer = parse_offer(text)
    assert (offer.address, offer.port, offer.payload_types) == ("203.0.113.5", 5004, [0, 101])
    assert (offer.direction, offer.ptime, offer.dtmf_payload_type) == ("sendonly", 30, 101)
    assert offer.on_hold and answer_direction(offer.direction) == "recvonly"
    inherited = parse_offer(sdp("m=audio 5004 RTP/AVP 0\n", session="c=IN IP4 0.0.0.0\n"))
    assert inherited.direction == "sendrecv" and inherited.on_hold  # old-style hold


def test_ipv6_answer() -> None:
    offer = parse_offer(sdp("m=audio 4000 RTP/AVP 0\n", session="c=IN IP6 2001:db8::1\n"))
    assert offer.address == "2001:db8::1"
    answer = build_answer(offer, Codec(0, "PCMU"), "2001:db8::2", 10000, 1, "recvonly")
    assert "c=IN IP6 2001:db8::2\r\n" in answer and answer.endswith("a=recvonly\r\n")
    with pytest.raises(ValueError, match="direction"):
        build_answer(offer, Codec(0, "PCMU"), "2001:db8::2", 10000, 1, "hold")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("", "empty"),
        ("o=- 1 1 IN IP4 1.2.3.4\nm=audio 4000 RTP/AVP 0\n", "must start with 'v='"),
        (sdp("m=video 4000 RTP/AVP 96\n"), "no audio stream"),
        (sdp("m=audio 0 RTP/AVP 0\n"), "no audio stream"),
        (sdp("m=audio 4000 RTP/AVP 0\n", session=""), "no connection address"),
        (sdp("m=audio 70000 RTP/AVP 0\n"), "bad port"),
        (sdp("m=audio 4000 RTP/AVP zero\n"), "bad payload type"),
        (sdp("m=audio 4000 RTP/AVP 200\n"), "bad payload type"),
        (sdp("m=audio 4000 RTP/SAVP 0\n"), "no SRTP"),
        (sdp("m=audio 4000\n"), "bad media line"),
        (sdp("m=audio 4000 RTP/AVP 0\n", session="c=IN IP4 pbx.example\n"), "not an IP"),
        (sdp("m=audio 4000 RTP/AVP 0\n", session="c=IN\n"), "bad connection line"),
        (sdp("m=audio 4000 RTP/AVP 0\na=rtpmap:0\n"), "bad rtpmap"),
        (sdp("m=audio 4000 RTP/AVP 0\na=ptime:fast\n"), "bad ptime"),
        (sdp("m=audio 4000 RTP/AVP 0\ngarbage\n"), "bad SDP line"),
    ],
)
def test_bad_sdp_gets_a_clear_error(body: str, says: str) -> None:
    with pytest.raises(SdpError, match=says):
        parse_offer(body)
    assert issubclass(SdpError, ValueError)
