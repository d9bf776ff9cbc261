"""A SIP server with the echo handler in a process of its own, for tests that load it from
outside and measure it (its memory, its answers) without sharing the test's interpreter.

In: agent settings as keyword arguments (`start_echo_process(allowed_peers=[...], ...)`).
Out: a running process on a free port of 127.0.0.1 (`port`, `pid`, `rss()`, `log()`), which
plays every caller's audio back and answers as the agent's SIP server does. The process runs
`python tests/sip_echo_process.py '<AgentSettings JSON>'`, prints "ready" once it listens,
and logs (WARNING and up) to a file.
"""

import asyncio
import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent


@dataclass
class EchoProcess:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss(self) -> int:
        return psutil.Process(self.pid).memory_info().rss

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def start_echo_process(
    log_dir: Path, sip_port: int, script: str = __file__, **agent: Any
) -> EchoProcess:
    """The echo SIP server on 127.0.0.1:`sip_port` with `agent` settings, once it listens
    (`script`: another server script taking the same argument and printing "ready")."""
    settings = {"host": "127.0.0.1", "sip_port": sip_port, **agent}
    log_path = log_dir / f"sip-echo-{settings['host']}-{sip_port}.log"
    command = [sys.executable, script, json.dumps(settings, default=str)]
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=log_file, text=True
        )
    ready = process.stdout.readline() if process.stdout else ""
    if ready.strip() != "ready":
        process.kill()
        raise RuntimeError(f"echo SIP server did not start: {log_path.read_text()[-2000:]}")
    return EchoProcess(process, sip_port, log_path)


async def _serve(settings: Any) -> None:
    from pipeline.telephony.sip.handler import EchoHandler
    from pipeline.telephony.sip.server import SipServer

    server = SipServer(settings, EchoHandler())
    await server.start()
    print("ready", flush=True)
    await asyncio.Event().wait()  # until terminated


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    from pipeline.process_memory import release_large_blocks
    from pipeline.settings import AgentSettings

    release_large_blocks()  # as `switchboard serve` does
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve(AgentSettings(**json.loads(sys.argv[1]))))
