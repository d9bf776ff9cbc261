"""models/triton/smart_turn: the model for a site's own Triton (NGC image, Python backend).

Its config.pbtxt is parsed with Triton's own ModelConfig protobuf and checked against the
contract `switchboard turn-server` serves; then the real tritonserver binary (the one
nvidia-pytriton ships, with its Python backend) hosts the repository as is and must answer
as stock Pipecat does.
"""

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc.model_config_pb2 as mc
from google.protobuf import text_format
from triton_server_fixture import free_port, http_status
from turn_clips import stock_probability, turn_clips

from models import triton_contract as contract
from pipeline.turn.triton_engine import TritonTurnEngine

REPO = Path(__file__).resolve().parent.parent
MODEL_DIR = REPO / "models" / "triton" / contract.MODEL_NAME


def parse_config() -> mc.ModelConfig:
    return text_format.Parse((MODEL_DIR / "config.pbtxt").read_text(), mc.ModelConfig())


def test_config_matches_the_turn_server_contract():
    config = parse_config()
    assert (config.name, config.backend) == (contract.MODEL_NAME, "python")
    assert config.max_batch_size >= 64
    (audio,) = config.input
    (probability,) = config.output
    assert (audio.name, mc.DataType.Name(audio.data_type)) == (contract.INPUT_NAME, "TYPE_INT16")
    assert tuple(audio.dims) == contract.INPUT_SHAPE
    assert probability.name == contract.OUTPUT_NAME
    assert mc.DataType.Name(probability.data_type) == "TYPE_FP32"
    assert tuple(probability.dims) == contract.OUTPUT_SHAPE
    assert config.HasField("dynamic_batching")
    assert 0 < config.dynamic_batching.max_queue_delay_microseconds <= 10_000
    assert config.parameters["device"].string_value in ("auto", "cpu", "cuda")
    assert (MODEL_DIR / "1" / "model.py").is_file()


@pytest.fixture(scope="module")
def site_triton(tmp_path_factory):
    """The bundled tritonserver hosting a copy of models/triton, as a site's Triton would."""
    import pytriton
    from pytriton.utils.distribution import get_libs_path, get_stub_path

    work = tmp_path_factory.mktemp("site-triton")
    server = work / "tritonserver"
    shutil.copytree(Path(pytriton.__file__).parent / "tritonserver", server)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    shutil.copy(get_stub_path(version), server / "backends" / "python")
    repository = work / "model_repository"  # not "models": that is switchboard's package
    shutil.copytree(MODEL_DIR.parent, repository)
    grpc, http, metrics = free_port(), free_port(), free_port()
    libdir = sysconfig.get_config_var("LIBDIR")
    env = os.environ | {
        "LD_LIBRARY_PATH": f"{libdir}:{get_libs_path()}",
        # The stub's embedded Python finds its environment through `python3` on PATH (it
        # ignores PYTHONPATH): this venv's, where switchboard is installed.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    command = [str(server / "bin" / "tritonserver"), "--model-repository", str(repository)]
    command += ["--backend-directory", str(server / "backends"), "--http-address", "127.0.0.1"]
    command += ["--grpc-address", "127.0.0.1", "--http-port", str(http)]
    command += ["--grpc-port", str(grpc), "--metrics-port", str(metrics)]
    log = work / "tritonserver.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=out, start_new_session=True, cwd=work
        )
    ready = f"http://127.0.0.1:{http}/v2/models/{contract.MODEL_NAME}/ready"
    until = time.monotonic() + 120
    while http_status(ready) != 200:
        if process.poll() is not None or time.monotonic() > until:
            _kill_group(process)
            pytest.fail(f"site Triton did not load smart_turn:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    yield f"127.0.0.1:{grpc}"
    process.terminate()
    try:
        process.wait(timeout=30)
    finally:
        _kill_group(process)  # the stub and its helpers, if any outlived tritonserver


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.mark.slow
async def test_a_stock_tritonserver_hosts_the_model_and_answers_as_pipecat(site_triton):
    engine = TritonTurnEngine(site_triton, timeout_ms=120_000)
    try:
        clips = {name: clip for name, clip in turn_clips().items() if clip[1] == 16000}
        served = await asyncio.gather(*(engine.submit(a, r) for a, r in clips.values()))
    finally:
        engine.close()
    for (name, (audio, rate)), probability in zip(clips.items(), served, strict=True):
        assert abs(probability - stock_probability(audio, rate)) <= 1e-3, name
    assert np.ptp(served) > 0.5  # complete and incomplete turns both occur
