"""One call through Kamailio (the chart's kamailio.cfg) to a full agent (`serve --cpu`: the
speech and LLM stand-ins): the caller asks for a person after the greeting; the agent hears it,
its LLM calls the transfer tool, and the REFER and then the BYE reach the caller through the
proxy (their top Via is the proxy's), as tests/sipp/transfer.xml expects."""

import time

import numpy as np
import pytest
from agent_fixture import start_agent
from kamailio_proxy import LATE_180_OK, agent_states, start_kamailio
from sip_peers import rtp_packets, run_sipp, sipp_report, write_pcap
from speech_server_fixture import free_port

from pipeline.callers.voice import synthesize

pytestmark = pytest.mark.timeout(600)
RTP_MIN = 29400


def test_a_full_agent_behind_the_proxy_transfers_with_refer(tmp_path):
    sip_port = free_port()
    agent = start_agent(
        AGENT__SIP_PORT=sip_port,
        AGENT__RTP_PORT_MIN=RTP_MIN,
        AGENT__RTP_PORT_MAX=RTP_MIN + 19,
        AGENT__SIP_TRANSFER_TARGET="sip:1000@pbx.example",
    )
    proxy = start_kamailio(tmp_path, free_port(), [f"127.0.0.1:{sip_port}"])
    try:
        deadline = time.monotonic() + 10
        while not all(flags.startswith("A") for flags in agent_states(proxy).values()):
            assert time.monotonic() < deadline, agent_states(proxy)
            time.sleep(0.1)
        speech = synthesize("Can I talk to a person, please?", 8000)
        # after the greeting, the question, then silence: a phone line keeps sending RTP
        silence = np.zeros(8000, np.int16)
        line = np.concatenate([np.tile(silence, 10), speech, np.tile(silence, 4)])
        pcap = write_pcap(tmp_path / "person.pcap", rtp_packets(line))
        result = run_sipp(
            "transfer", proxy.port, tmp_path, keys={"pcap": str(pcap)}, timeout_s=90,
            extra=(*LATE_180_OK, "-trace_msg"),
        )  # fmt: skip
        report = sipp_report(result, tmp_path) + proxy.log()[-2000:] + agent.log()[-3000:]
        assert result.returncode == 0, report
        messages = "".join(p.read_text() for p in tmp_path.glob("*_messages.log"))
        for method in ("REFER", "BYE"):
            start = messages.find(f"{method} sip:caller@")
            received = messages[start : messages.find("\n\n", start)]
            assert f"Via: SIP/2.0/UDP 127.0.0.1:{proxy.port};" in received, received
    finally:
        proxy.stop()
        agent.stop()
