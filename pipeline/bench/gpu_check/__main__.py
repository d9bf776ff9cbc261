"""`python -m pipeline.bench.gpu_check`: run every step, write JSON and a table, set the status.

In: --device cuda|cpu, --out FOLDER, --model ONNX (default .gpu-assets/...), --max-batch,
--dtype, --no-graphs, tolerances, --steps (a subset; the others are recorded as skipped).
Out: FOLDER/gpu-check.json (rewritten after every step, so a run cut short still leaves what it
measured) and FOLDER/gpu-check.txt; progress lines on stdout. Exit status 1 when any step
failed or raised, 0 otherwise.
"""

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import torch

from pipeline.bench.gpu_check.context import Context
from pipeline.bench.gpu_check.engine import check_engine
from pipeline.bench.gpu_check.features import check_features
from pipeline.bench.gpu_check.load import time_load
from pipeline.bench.gpu_check.model import check_fp16, check_fp32, check_runner_path
from pipeline.bench.gpu_check.provenance import provenance
from pipeline.bench.gpu_check.record import Budget, Skip, Step, progress, run_step, start_clock
from pipeline.bench.gpu_check.sizes import sizes_for
from pipeline.bench.gpu_check.stages import time_forward, time_stages
from pipeline.bench.gpu_check.table import render

DEFAULT_MODEL = Path(".gpu-assets/smart-turn-v3.2-cpu.onnx")
STEPS = ("provenance", "features", "fp32", "fp16", "runner_path", "engine")
STEPS += ("stages", "forward", "load", "memory")
DTYPES = {"float16": torch.float16, "float32": torch.float32}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pipeline.bench.gpu_check", description=__doc__)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--out", type=Path, default=Path("out/gpu-check"))
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--max-batch", type=int, help="default: 256 on CUDA, 4 on CPU")
    parser.add_argument(
        "--dtype", choices=tuple(DTYPES), help="the runner's (default: fp16 on CUDA)"
    )
    parser.add_argument("--graphs", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--budget-s", type=float, help="whole run; default 270 (CUDA), 150 (CPU)")
    parser.add_argument("--features-tol", type=float, default=1e-4)
    parser.add_argument("--fp32-tol", type=float, default=1e-4)
    parser.add_argument("--fp16-tol", type=float, default=1e-2)
    parser.add_argument("--engine-tol", type=float, help="default: 5e-3 for fp16, 1e-4 for fp32")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma list of {STEPS}")
    args = parser.parse_args(argv)
    unknown = set(args.steps.split(",")) - set(STEPS)
    if unknown:
        parser.error(f"unknown steps {sorted(unknown)}; steps: {', '.join(STEPS)}")
    args.max_batch = args.max_batch or (256 if args.device == "cuda" else 4)
    return args


def _memory(record: Step, device: str, peaks: list[float]) -> None:
    if device != "cuda":
        raise Skip("not measured: no GPU")
    record["peak_mib"] = round(max([torch.cuda.max_memory_allocated() / 2**20, *peaks]), 1)
    free, total = torch.cuda.mem_get_info()
    record |= {"free_mib": round(free / 2**20), "total_mib": round(total / 2**20)}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    sizes = sizes_for(args.device, args.max_batch)
    budget = Budget(args.budget_s or sizes.budget_s)
    start_clock(budget)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.model.is_file():
        progress("setup", f"no model at {args.model}: run `make gpu-assets` and carry .gpu-assets")
    cuda = args.device == "cuda"
    ctx = Context(
        args.device, args.model, DTYPES.get(args.dtype), args.graphs and cuda, args.max_batch, sizes
    )
    peaks: list[float] = []
    bodies: dict[str, Callable[[Step], None]] = {
        "provenance": lambda r: r.update(
            provenance(args.device, ctx.runner_dtype(), ctx.graphs, args.model)
        ),
        "features": lambda r: check_features(
            r, ctx.torch_device, sizes.feature_batches, args.features_tol
        ),
        "fp32": lambda r: check_fp32(r, ctx, args.fp32_tol),
        "fp16": lambda r: check_fp16(r, ctx, args.fp16_tol),
        "runner_path": lambda r: check_runner_path(r, ctx, None),
        "engine": lambda r: check_engine(r, ctx, args.engine_tol, budget.until(120)),
        "stages": lambda r: time_stages(r, ctx, budget.deadline),
        "forward": lambda r: time_forward(r, ctx, budget.deadline),
        "load": lambda r: time_load(r, ctx, budget.deadline),
        "memory": lambda r: _memory(r, args.device, peaks),
    }
    selected = args.steps.split(",")
    result: dict = {
        "device": args.device,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "argv": sys.argv[1:] if argv is None else argv,
        "max_batch": args.max_batch,
        "sizes": sizes.__dict__,
        "steps": {},
    }
    json_path, table_path = args.out / "gpu-check.json", args.out / "gpu-check.txt"
    try:
        for name in STEPS:
            if name not in selected:
                result["steps"][name] = {"status": "skipped", "reason": "not selected (--steps)"}
                continue
            if cuda and torch.cuda.is_available():
                torch.cuda.reset_peak_memory_stats()
            record = run_step(name, bodies[name])
            if cuda and torch.cuda.is_available():
                record["peak_mib"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
                peaks.append(record["peak_mib"])
            result["steps"][name] = record
            _write(result, budget, json_path)
    finally:
        ctx.close()
    result = _write(result, budget, json_path)
    lines = render(result)
    table_path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)
    print(f"wrote {json_path} and {table_path}", flush=True)
    return 0 if result["ok"] else 1


def _write(result: dict, budget: Budget, path: Path) -> dict:
    statuses = [step["status"] for step in result["steps"].values()]
    result["ok"] = all(status in ("pass", "skipped") for status in statuses)
    result["failed"] = [n for n, s in result["steps"].items() if s["status"] in ("fail", "error")]
    result["wall_s"] = round(budget.elapsed(), 2)
    result["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str) + "\n")
    tmp.replace(path)
    return result


if __name__ == "__main__":
    sys.exit(main())
