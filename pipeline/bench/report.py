"""Shared output of the benchmarks: percentiles, machine facts and provenance, a rich table, a
JSON file."""

import importlib
import json
import os
import platform
import subprocess
from pathlib import Path

import numpy as np
import psutil
from rich.console import Console
from rich.table import Table


def percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1000, q)) if seconds else float("nan")


def _cpu_model() -> tuple[str, list[str]]:
    """The CPU's model name and the SIMD extensions that matter for int8 inference."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine(), []
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
    flags = fields.get("flags", "").split()
    return fields.get("model name", platform.machine()), [f for f in wanted if f in flags]


def machine() -> dict:
    """What the figures were measured on."""
    model, simd = _cpu_model()
    return {
        "cpu": model,
        "simd": simd,
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
    }


def _version(module: str) -> str | None:
    """The installed version of `module`, None when it is not importable."""
    try:
        return getattr(importlib.import_module(module), "__version__", None)
    except Exception:  # noqa: BLE001 - a broken or absent install is reported as None
        return None


def _gpu() -> dict | None:
    """The GPU torch sees (name, memory, compute capability, driver), None without one."""
    try:
        import torch

        if not torch.cuda.is_available():
            return None
        props = torch.cuda.get_device_properties(0)
    except Exception:  # noqa: BLE001 - no torch, or a CUDA that cannot initialize
        return None
    return {
        "name": props.name,
        "count": torch.cuda.device_count(),
        "memory_gb": round(props.total_memory / 2**30, 1),
        "capability": f"{props.major}.{props.minor}",
        "driver": _driver_version(),
    }


def _driver_version() -> str | None:
    """The NVIDIA driver version from nvidia-smi, None when it cannot say."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = out.stdout.strip().splitlines()
    return lines[0].strip() if out.returncode == 0 and lines else None


def provenance(runner: dict | None = None) -> dict:
    """What produced the figures: `machine()` (CPU model, cores), the GPU torch sees (name,
    driver; None without one), the versions of torch, CUDA, cuDNN, numpy and onnxruntime, and
    `runner` as given (e.g. {"runner", "device", "dtype"} of the engine measured)."""
    torch_version = _version("torch")
    cuda = cudnn = None
    if torch_version:
        import torch

        cuda = torch.version.cuda
        cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "machine": machine(),
        "gpu": _gpu(),
        "versions": {
            "torch": torch_version,
            "cuda": cuda,
            "cudnn": cudnn,
            "numpy": _version("numpy"),
            "onnxruntime": _version("onnxruntime"),
        },
        "runner": runner,
    }


def print_table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="right" if column != columns[0] else "left")
    for row in rows:
        table.add_row(*(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row))
    Console().print(table)


def write_json(path: str | Path | None, data: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2) + "\n")
        Console().print(f"wrote {path}")
