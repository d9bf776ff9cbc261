"""Shared output of the benchmarks: percentiles, machine facts, a rich table, a JSON file."""

import json
import os
import platform
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
