"""Where and with what the check ran: GPU, driver, torch and CUDA, dtype, graphs, packages.

In: the device, the runner's dtype and graphs setting, the model file. Out: a flat dict for the
JSON. nvidia-smi gives the driver when it is there (a 10 s limit); a package that is missing
reads None.
"""

import hashlib
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import torch

PACKAGES = ("torch", "numpy", "numba", "numba-cuda", "cupy-cuda13x", "onnx", "onnxruntime")
PACKAGES += ("scipy", "prometheus-client", "llvmlite")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _driver() -> str | None:
    if shutil.which("nvidia-smi") is None:
        return None
    query = ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]
    try:
        done = subprocess.run(query, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip().splitlines()[0] if done.stdout.strip() else None


def provenance(device: str, dtype: torch.dtype, graphs: bool, model: Path) -> dict:
    facts: dict = {
        "device": device,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "dtype": str(dtype).removeprefix("torch."),
        "graphs": graphs,
        "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "torch_threads": torch.get_num_threads(),
        "packages": {name: _version(name) for name in PACKAGES},
        "model": str(model),
        "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest() if model.is_file() else None,
    }
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        facts |= {
            "gpu": props.name,
            "gpu_memory_gib": round(props.total_memory / 2**30, 1),
            "multiprocessors": props.multi_processor_count,
            "compute_capability": f"{props.major}.{props.minor}",
            "driver": _driver(),
            "gpu_count": torch.cuda.device_count(),
        }
    return facts
