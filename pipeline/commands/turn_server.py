"""`switchboard turn-server`: Smart Turn on NVIDIA Triton Inference Server (PyTriton).

    switchboard turn-server --host 0.0.0.0 --grpc-port 8001 --http-port 8000 --metrics-port 8002

Serves model `smart_turn` (audio INT16 [L], a turn's samples as they are → probability FP32
[1]) with dynamic batching of any lengths together: point agents at it with
SWITCHBOARD_TURN__ENGINE=triton, SWITCHBOARD_TURN__TRITON_URL=HOST:8001.
Health: HTTP /v2/health/ready; metrics (nv_inference_*): http://HOST:8002/metrics.
Unset flags come from settings.turn (env SWITCHBOARD_TURN__*): device, max_batch (on a CPU
capped at cpu_max_batch, as in process), and max_wait_ms (Triton's queue delay).
"""

import argparse
import sys

from pipeline.settings import Settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "turn-server",
        help="Smart Turn on Triton Inference Server: batched turn detection for many agents",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (all: 0.0.0.0)")
    parser.add_argument("--grpc-port", type=_port, default=8001)
    parser.add_argument("--http-port", type=_port, default=8000)
    parser.add_argument("--metrics-port", type=_port, default=8002)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], help="settings.turn.device")
    parser.add_argument("--max-batch", type=int, help="largest batch (settings.turn.max_batch)")
    parser.add_argument(
        "--max-wait-ms", type=float, help="queue delay to fill a batch (settings.turn.max_wait_ms)"
    )
    parser.set_defaults(func=run)


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 1..65535")
    return port


def _given(flag: float | None, setting: float) -> float:
    return setting if flag is None else flag


def run(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    from pipeline.triton.environment import TritonEnvironmentError
    from pipeline.triton.server import TurnServerError, TurnServerOptions, serve

    turn = settings.turn
    ports = {args.grpc_port, args.http_port, args.metrics_port}
    if len(ports) != 3:
        print("switchboard turn-server: the three ports must differ", file=sys.stderr)
        return 2
    options = TurnServerOptions(
        host=args.host,
        grpc_port=args.grpc_port,
        http_port=args.http_port,
        metrics_port=args.metrics_port,
        device=args.device or turn.device,
        max_batch=_given(args.max_batch, turn.max_batch),
        cpu_max_batch=turn.cpu_max_batch,
        max_queue_delay_us=round(1000 * _given(args.max_wait_ms, turn.max_wait_ms)),
        model_path=turn.model_path,
        cpu_threads=turn.cpu_threads,
    )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return serve(options)
    except (TritonEnvironmentError, TurnServerError) as exc:
        print(f"switchboard turn-server: {exc}", file=sys.stderr)
        return 2
