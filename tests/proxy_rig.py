"""Kamailio (the chart's configuration) in front of two echo agents on loopback: the rig the
SIP proxy tests and bench share.

In: a folder. Out: `Rig`: agent processes on 127.0.0.2 and 127.0.0.3 (tests/proxy_echo_agent.py,
same SIP port), Kamailio in front of them (tests/kamailio_proxy.py), sipp as the PBX (`sipp`,
`run`), the dispatcher's view of each agent (`wait_state`), and the calls each agent finished
(`records`, which drains the agent first).
"""

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
from kamailio_proxy import LATE_180_OK, agent_states, start_kamailio
from sip_echo_process import EchoProcess, start_echo_process
from sip_peers import rtp_packets, sipp_command, sipp_report, write_pcap
from speech_server_fixture import free_port

AGENT_SCRIPT = str(Path(__file__).parent / "proxy_echo_agent.py")
HOSTS = ("127.0.0.2", "127.0.0.3")
TONE = (np.sin(np.arange(8000) / 4) * 8000).astype("int16")  # 1 s at 8 kHz
AUDIO_BYTES = len(TONE) * 2


class Rig:
    """The proxy and its two agents, each agent by host."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        port = free_port()
        self.agents: dict[str, EchoProcess] = {
            host: start_echo_process(
                folder, port, script=AGENT_SCRIPT, host=host,
                rtp_port_min=28000 + 200 * i, rtp_port_max=28000 + 200 * i + 60,
                sip_transfer_target="sip:1000@pbx.example",
            )
            for i, host in enumerate(HOSTS)
        }  # fmt: skip
        self.uris = {host: f"sip:{host}:{port};transport=udp" for host in HOSTS}
        self.port = port
        self.proxy = start_kamailio(folder, free_port(), [f"{host}:{port}" for host in HOSTS])

    def pcap(self, dtmf: str) -> Path:
        """A second of tone, then `dtmf` ("1": a caller; "#": the bot hangs up; "0": transfer)."""
        return write_pcap(self.folder / f"tone{ord(dtmf)}.pcap", rtp_packets(TONE, dtmf=dtmf))

    def wait_state(self, host: str, state: str, timeout_s: float = 10.0) -> float:
        """Seconds until the dispatcher shows `host` in `state` ("A" active, "I" inactive)."""
        start = time.monotonic()
        while not agent_states(self.proxy).get(self.uris[host], "").startswith(state):
            assert time.monotonic() - start < timeout_s, agent_states(self.proxy)
            time.sleep(0.05)
        return time.monotonic() - start

    def sipp(
        self,
        scenario: str,
        calls: int = 1,
        limit: int = 0,
        pause_ms: int = 1500,
        dtmf: str = "1",
        host: str = "",
        extra: tuple[str, ...] = ("-trace_msg",),
        timeout_s: int = 30,
    ) -> list[str]:
        """sipp's command line for `scenario` against the proxy, or straight to agent `host`
        (the whole run within `timeout_s`)."""
        command = sipp_command(
            scenario, self.port if host else self.proxy.port, calls=calls, limit=limit,
            pause_ms=pause_ms, keys={"pcap": str(self.pcap(dtmf))}, timeout_s=timeout_s,
            extra=(*LATE_180_OK, *extra),
        )  # fmt: skip
        if host:
            command[1] = f"{host}:{self.port}"
        return command

    def start(self, scenario: str, **options) -> subprocess.Popen:
        """sipp running `scenario` (options as `sipp`) in the background."""
        command = self.sipp(scenario, **options)
        return subprocess.Popen(command, cwd=self.folder, stdout=subprocess.DEVNULL)

    def run(self, scenario: str, **options) -> None:
        command = self.sipp(scenario, **options)
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.folder)
        assert result.returncode == 0, sipp_report(result, self.folder) + self.proxy.log()[-2000:]

    def records(self, host: str) -> list[dict]:
        """The calls `host` finished (it is stopped first: SIGTERM drains it)."""
        agent = self.agents[host]
        if agent.process.poll() is None:
            agent.process.send_signal(signal.SIGTERM)
        out, _ = agent.process.communicate(timeout=30)
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    def stop(self) -> None:
        self.proxy.stop()
        for agent in self.agents.values():
            if agent.process.poll() is None:
                agent.process.kill()
                agent.process.wait(10)
