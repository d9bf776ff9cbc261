"""What `serve --cpu` and `demo --interactive` run beside the agent: the CPU speech server and
the CPU LLM server (started by pipeline/serve/agent_process.py).

In: settings. Out: the two Child specs (command, health probe, how to run it by hand) and
settings whose asr/tts/llm endpoints point at them. Each child gets this process's whole
section (`speech_server`: pools, keepalive, ...; `llm_server`) through its environment, so
a settings file given to `serve` reaches it too, scripted stand-ins included
(speech_server.scripted, llm_server.scripted). The turn engine needs no child: it runs
inside the agent process (turn.engine=local, the default), or on a turn-server that
turn.engine=triton and turn.triton_url name (started apart, e.g. `switchboard turn-server`).
"""

from pathlib import Path

from pydantic import BaseModel

from pipeline.agent.endpoints import grpc_serving, llm_problem
from pipeline.serve.supervisor import Child
from pipeline.settings import Settings


def _local(host: str) -> str:
    """Where to connect to a server that listens on `host`."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _section_env(section: str, values: BaseModel) -> dict[str, str]:
    """`values` as the SWITCHBOARD_<SECTION>__<FIELD> variables a child's settings read."""
    return {
        f"SWITCHBOARD_{section.upper()}__{name.upper()}": str(value)
        for name, value in values.model_dump().items()
        if value is not None
    }


def cpu_children(settings: Settings, log_dir: Path) -> tuple[list[Child], Settings]:
    speech, llm = settings.speech_server, settings.llm_server
    speech_address = f"{_local(speech.host)}:{speech.port}"
    llm_url = f"http://{_local(llm.host)}:{llm.port}/v1"
    children = [
        Child(
            name="speech-server",
            args=["speech-server", "--host", speech.host, "--port", str(speech.port)],
            healthy=lambda: grpc_serving(speech_address, timeout_s=1.0) and "loading models",
            hint=f"switchboard speech-server --port {speech.port}",
            log_path=log_dir / "speech-server.log",
            env=_section_env("speech_server", speech),
        ),
        Child(
            name="llm-server",
            args=["llm-server", "--host", llm.host, "--port", str(llm.port)],
            healthy=lambda: llm_problem(llm_url, "none", llm.model_alias) and "loading model",
            hint=f"switchboard llm-server --port {llm.port}",
            log_path=log_dir / "llm-server.log",
            env=_section_env("llm_server", llm),
        ),
    ]
    local = settings.model_copy(
        update={
            "asr": settings.asr.model_copy(
                update={"server": speech_address, "model": speech.asr_model, "use_ssl": False}
            ),
            "tts": settings.tts.model_copy(
                update={"server": speech_address, "voice": speech.voice, "use_ssl": False}
            ),
            "llm": settings.llm.model_copy(update={"base_url": llm_url, "model": llm.model_alias}),
        }
    )
    return children, local
