"""Smart Turn on Triton: the model contract's scoring function bound into PyTriton's tritonserver.

In: Triton requests for model `smart_turn` (models.triton_contract: `audio` INT16 [n, L], each
turn as long as it is). Triton's dynamic batcher gathers them, of any lengths (`audio` allows
ragged batches), up to `max_batch`, waiting at most `max_queue_delay_us` for more;
`make_infer` scores them together with models.triton_contract.score_requests
(the function the NGC model repository uses too) and answers `probability` FP32 [n, 1] per
request. The runner is the in-process engine's (models.runner: CUDA with on-device features
when there is a GPU, else the bundled int8 ONNX on CPU with Pipecat's own features), so the
server's answers equal the local engine's.
Triton itself checks dtype, shape and batch size and answers errors; a failing batch is
answered with an error and the server carries on.
"""

import logging
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import numpy as np

from models import triton_contract as contract
from models.runner import Device, SmartTurnRunner, create_runner, max_batch_for, warm_up
from pipeline.triton.environment import prepare_triton_environment

log = logging.getLogger(__name__)
RESTRICTED_ENDPOINTS = ("shared-memory", "model-repository", "trace", "logging")


class TurnServerError(RuntimeError):
    """The turn-server cannot start; the message says why."""


@dataclass(frozen=True)
class TurnServerOptions:
    host: str = "0.0.0.0"  # Triton's own default; a container must listen on every address
    grpc_port: int = 8001
    http_port: int = 8000
    metrics_port: int = 8002
    device: Device = "auto"
    max_batch: int = 256
    cpu_max_batch: int = 2  # the cap on CPU: the int8 model gains nothing from big batches there
    max_queue_delay_us: int = 2000
    model_path: Path | None = None
    cpu_threads: int | None = None


def make_infer(runner: SmartTurnRunner) -> Callable[[list], list[dict[str, np.ndarray]]]:
    """The inference callable PyTriton binds: the requests Triton batched → one answer each."""

    def infer(requests: list) -> list[dict[str, np.ndarray]]:
        audio = [request[contract.INPUT_NAME] for request in requests]
        answers = contract.score_requests(runner, audio)
        return [{contract.OUTPUT_NAME: probabilities} for probabilities in answers]

    return infer


def serve(options: TurnServerOptions) -> int:
    """Load the model, start Triton, serve until SIGTERM/SIGINT (0) or until Triton dies (1)."""
    prepare_triton_environment()
    for port in (options.grpc_port, options.http_port, options.metrics_port):
        _check_free(options.host, port)  # tritonserver would exit, PyTriton wait 2 minutes
    from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
    from pytriton.triton import Triton, TritonConfig, TritonSecurityConfig

    try:
        runner = create_runner(
            options.device, options.model_path, options.cpu_threads, options.max_batch
        )
    except (RuntimeError, OSError) as exc:  # no GPU for "cuda", a bad model file
        raise TurnServerError(f"cannot load Smart Turn on {options.device}: {exc}") from exc
    warm_up(runner)  # before "ready"
    max_batch = max_batch_for(runner, options.max_batch, options.cpu_max_batch)
    log.info("Smart Turn runner ready on %s", runner.device)
    config = TritonConfig(
        http_address=options.host,
        http_port=options.http_port,
        grpc_address=options.host,
        grpc_port=options.grpc_port,
        metrics_address=options.host,
        metrics_port=options.metrics_port,
        strict_readiness=True,  # /v2/health/ready only once smart_turn is loaded
        exit_on_error=True,
    )
    model_config = ModelConfig(
        max_batch_size=max_batch,
        batcher=DynamicBatcher(max_queue_delay_microseconds=options.max_queue_delay_us),
    )
    # PyTriton guards some admin endpoints with a random token; statistics (per-model counts
    # and the batch sizes formed, read-only) stay open for monitoring and the benchmark.
    security = TritonSecurityConfig(restricted_endpoints=list(RESTRICTED_ENDPOINTS))
    stop = _StopSignal()
    with Triton(config=config, security_config=security) as triton:
        _allow_ragged_batches(contract.INPUT_NAME)
        triton.bind(
            model_name=contract.MODEL_NAME,
            infer_func=make_infer(runner),
            inputs=[Tensor(name=contract.INPUT_NAME, dtype=np.int16, shape=contract.INPUT_SHAPE)],
            outputs=[
                Tensor(name=contract.OUTPUT_NAME, dtype=np.float32, shape=contract.OUTPUT_SHAPE)
            ],
            config=model_config,
        )
        log.info(
            "serving %s on %s: gRPC %d, HTTP %d, metrics %d (device %s, max batch %d, "
            "queue delay %d us)",
            contract.MODEL_NAME,
            options.host,
            options.grpc_port,
            options.http_port,
            options.metrics_port,
            runner.device,
            max_batch,
            options.max_queue_delay_us,
        )
        triton.serve()  # returns on SIGINT (and SIGTERM, see _StopSignal) or when Triton dies
    if stop.received:
        return 0
    log.error("tritonserver stopped unexpectedly")
    return 1


def _allow_ragged_batches(input_name: str) -> None:
    """Mark `input_name` allow_ragged_batch in the model config PyTriton generates (its
    ModelConfig has no such field), so Triton batches requests of different lengths."""
    from pytriton.model_config.generator import ModelConfigGenerator

    generate = ModelConfigGenerator.get_config
    if getattr(generate, "ragged_input", None) == input_name:
        return

    def get_config(self: ModelConfigGenerator) -> dict:
        config = generate(self)
        for item in config.get("input", []):
            if item["name"] == input_name:
                item["allow_ragged_batch"] = contract.ALLOW_RAGGED
        return config

    get_config.ragged_input = input_name  # type: ignore[attr-defined]
    ModelConfigGenerator.get_config = get_config  # type: ignore[method-assign]


def _check_free(host: str, port: int) -> None:
    """TurnServerError when another process listens on host:port. SO_REUSEADDR, as servers
    bind: the TIME_WAIT connections a just-killed server leaves do not count."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise TurnServerError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


class _StopSignal:
    """Turns SIGTERM (Kubernetes stopping the pod) into the KeyboardInterrupt PyTriton's
    serve() handles, so Triton is stopped cleanly and its workspace removed."""

    def __init__(self) -> None:
        self.received = False
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.received:
            self.received = True
            raise KeyboardInterrupt
