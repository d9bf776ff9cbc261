"""A live `switchboard serve --cpu` for end-to-end tests: the agent, its speech server and
LLM server as child processes, on free ports, logs in a temporary folder.

`start_agent()` waits until /readyz says ready; `stop()` sends SIGTERM and checks that no
child outlived it.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from pipeline.bench.localhost import free_ports

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 300


@dataclass
class Agent:
    process: subprocess.Popen
    log_dir: Path
    env: dict[str, str]
    ws_url: str
    health_url: str
    speech_address: str
    audiosocket: tuple[str, int]  # Asterisk AudioSocket listener
    signalled: list[psutil.Process] = field(default_factory=list)  # children at SIGTERM

    def log(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')}"
            for path in sorted(self.log_dir.glob("*.log"))
        )

    def child(self, name: str) -> psutil.Process:
        """The running child whose command line is `switchboard <name> ...`."""
        for child in psutil.Process(self.process.pid).children():
            try:
                if name in child.cmdline():
                    return child
            except psutil.NoSuchProcess:  # zombies too: a killed child not reaped yet
                continue
        raise LookupError(f"no {name} child; log:\n{self.log()[-3000:]}")

    def get(self, path: str, timeout: float = 5.0) -> int:
        try:
            with urllib.request.urlopen(self.health_url + path, timeout=timeout) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    def child_processes(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self, wait_s: float = 30) -> list[int]:
        """SIGTERM the agent, wait for it to exit; returns the pids of its children still
        alive afterwards. A no-op past an earlier stop()."""
        if self.process.poll() is None:
            self.signalled = self.child_processes()
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=wait_s)
        time.sleep(0.5)
        alive = [c for c in self.signalled if c.is_running()]
        return [c.pid for c in alive if c.status() != "zombie"]


def agent_env(**settings: object) -> dict[str, str]:
    """The environment of a test agent: free ports, plus `settings` (e.g. AGENT__X=1)."""
    names = ("AGENT__WEBSOCKET_PORT", "AGENT__HEALTH_PORT", "AGENT__AUDIOSOCKET_PORT",
             "SPEECH_SERVER__PORT", "LLM_SERVER__PORT")  # fmt: skip
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    ports = ports | {"AGENT__METRICS_PORT": 0} | settings
    return os.environ | {f"SWITCHBOARD_{key}": str(value) for key, value in ports.items()}


def sip_settings(rtp_min: int) -> dict[str, object]:
    """start_agent settings for SIP calls: a free SIP port, RTP ports rtp_min..rtp_min+99."""
    (sip_port,) = free_ports(1)
    return {
        "AGENT__SIP_PORT": sip_port,
        "AGENT__RTP_PORT_MIN": rtp_min,
        "AGENT__RTP_PORT_MAX": rtp_min + 99,
    }


def start_agent(**settings: object) -> Agent:
    """`serve --cpu` with `settings` as SWITCHBOARD_<KEY> variables (e.g. AGENT__X=1)."""
    env = agent_env(**settings)
    log_dir = Path(tempfile.mkdtemp(prefix="agent-e2e-"))
    command = [sys.executable, "-m", "pipeline.cli", "serve", "--cpu", "--log-dir", str(log_dir)]
    with (log_dir / "serve.log").open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=out)
    health = f"http://127.0.0.1:{env['SWITCHBOARD_AGENT__HEALTH_PORT']}"
    agent = Agent(
        process=process,
        log_dir=log_dir,
        env=env,
        ws_url=f"ws://127.0.0.1:{env['SWITCHBOARD_AGENT__WEBSOCKET_PORT']}/ws",
        health_url=health,
        speech_address=f"127.0.0.1:{env['SWITCHBOARD_SPEECH_SERVER__PORT']}",
        audiosocket=("127.0.0.1", int(env["SWITCHBOARD_AGENT__AUDIOSOCKET_PORT"])),
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve --cpu exited with {process.returncode}:\n{agent.log()}")
        try:
            if agent.get("/readyz", timeout=5) == 200:
                return agent
        except OSError:
            pass
        time.sleep(1)
    agent.stop()
    raise RuntimeError(f"serve --cpu not ready after {START_TIMEOUT_S} s:\n{agent.log()}")
