"""The agent a calls benchmark loads: one it starts itself, or one already running at a URL.

In: settings, a turn mode (smart|stock|vad) and a transport (ws|sip), or a ws:// or
sip:HOST:PORT URL (plus, optionally, the agent's /metrics URL). Out: an AgentUnderTest with
the URL callers dial, the metrics URL and the process id to measure (None when it cannot be
known). `started_agent()` runs `switchboard serve --cpu` as a child on free ports (a SIP
port too for sip callers) with agent.turn_mode set and its transcripts written to the log
folder, waits for /readyz, and stops it (and its speech and LLM servers) when the block ends.
With a script (the callers' lines) its speech and LLM servers are the scripted stand-ins
(`speech-server --scripted`, `llm-server --scripted`), which cost next to nothing, so the
load measures the agent alone; `capacity` raises max_calls and the speech pools to fit.
"""

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from pipeline.bench.calls.agent_probe import listening_pid
from pipeline.bench.localhost import free_ports, http_status
from pipeline.serve.supervisor import Child, Supervisor
from pipeline.settings import Settings


@dataclass(frozen=True)
class AgentUnderTest:
    url: str  # ws://host:port/path of the Twilio-format media stream, or sip:host:port
    metrics_url: str | None  # http://host:port/metrics, for frame lag
    pid: int | None  # the agent process, for memory
    log_dir: Path | None = None
    transcripts: Path | None = None  # its agent.transcripts_file, when this benchmark set it


def running_agent(url: str, metrics_url: str | None) -> AgentUnderTest:
    """An agent started elsewhere; its pid is found when it listens on this machine."""
    parsed = urlparse(url)
    if parsed.scheme == "sip":
        parsed = urlparse(f"//{url.removeprefix('sip:').rpartition('@')[2]}")
    elif parsed.scheme not in ("ws", "wss"):
        parsed = urlparse("")
    if not parsed.port:
        raise ValueError(f"--url must be ws://HOST:PORT/PATH or sip:HOST:PORT, got {url!r}")
    local = parsed.hostname in ("127.0.0.1", "localhost", "::1")
    return AgentUnderTest(url, metrics_url, listening_pid(parsed.port) if local else None)


def _room_for(settings: Settings, calls: int) -> dict[str, str]:
    """Environment that lets the agent and its speech server take `calls` at once."""
    agent, speech = settings.agent, settings.speech_server
    return {
        "SWITCHBOARD_AGENT__MAX_CALLS": str(max(agent.max_calls, calls)),
        "SWITCHBOARD_SPEECH_SERVER__MAX_STREAMS": str(max(speech.max_streams, calls)),
        "SWITCHBOARD_SPEECH_SERVER__MAX_TTS_STREAMS": str(max(speech.max_tts_streams, calls)),
    }


@contextlib.contextmanager
def started_agent(
    settings: Settings,
    turn_mode: str,
    log_dir: Path | None = None,
    transport: str = "ws",
    script: list[str] | None = None,
    capacity: int = 0,
) -> Iterator[AgentUnderTest]:
    """`switchboard serve --cpu` with `turn_mode`, on free ports, for the length of the block;
    its URL is the WebSocket's, or with transport "sip" its SIP listener's. With `script`,
    on the scripted stand-ins answering with its lines; room for `capacity` calls at once."""
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="switchboard-bench-calls-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    names = ("websocket", "health", "metrics", "speech", "llm", "sip")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    env = {
        "SWITCHBOARD_AGENT__TURN_MODE": turn_mode,
        "SWITCHBOARD_AGENT__HOST": "127.0.0.1",
        "SWITCHBOARD_AGENT__WEBSOCKET_PORT": str(ports["websocket"]),
        "SWITCHBOARD_AGENT__HEALTH_PORT": str(ports["health"]),
        "SWITCHBOARD_AGENT__METRICS_PORT": str(ports["metrics"]),
        "SWITCHBOARD_AGENT__AUDIOSOCKET_PORT": "0",  # callers come over the WebSocket or SIP
        "SWITCHBOARD_AGENT__SIP_PORT": str(ports["sip"]) if transport == "sip" else "0",
        "SWITCHBOARD_SPEECH_SERVER__PORT": str(ports["speech"]),
        "SWITCHBOARD_LLM_SERVER__PORT": str(ports["llm"]),
        "SWITCHBOARD_AGENT__TRANSCRIPTS_FILE": str(log_dir / "transcripts.jsonl"),
        **_room_for(settings, capacity),
    }
    if script is not None:
        script_path = log_dir / "script.txt"
        script_path.write_text("".join(f"{line}\n" for line in script))
        env["SWITCHBOARD_SPEECH_SERVER__SCRIPTED"] = str(script_path)
        env["SWITCHBOARD_LLM_SERVER__SCRIPTED"] = "true"
    ready = f"http://127.0.0.1:{ports['health']}/readyz"
    stand_ins = ", scripted stand-ins" if script is not None else ""
    child = Child(
        name=f"agent (serve --cpu, turn {turn_mode}{stand_ins})",
        args=["serve", "--cpu", "--log-dir", str(log_dir)],
        healthy=lambda: None if http_status(ready, timeout=5) == 200 else "loading models",
        hint="switchboard serve --cpu",
        log_path=log_dir / "agent.log",
        env=env,
    )
    supervisor = Supervisor([child], restart=False)
    try:
        supervisor.start(settings.agent.start_timeout_s + 30)
        ws_url = f"ws://127.0.0.1:{ports['websocket']}{settings.agent.websocket_path}"
        yield AgentUnderTest(
            url=f"sip:127.0.0.1:{ports['sip']}" if transport == "sip" else ws_url,
            metrics_url=f"http://127.0.0.1:{ports['metrics']}/metrics",
            pid=child.process.pid,
            log_dir=log_dir,
            transcripts=log_dir / "transcripts.jsonl",
        )
    finally:
        supervisor.stop()
