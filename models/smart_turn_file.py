"""Locate and verify the Smart Turn ONNX file.

In: nothing (the model bundled in `pipecat-ai`) or a path the user points to.
Out: a `SmartTurnFile` (path, sha256, whether it is the known bundled build), or a
`SmartTurnFileError` that says what is wrong with the file and how to fix it.
Nothing here downloads anything: customer sites have no internet.
"""

import hashlib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import onnx

BUNDLED_PACKAGE = "pipecat.audio.turn.smart_turn.data"
BUNDLED_NAME = "smart-turn-v3.2-cpu.onnx"
# sha256 of the file pipecat-ai 1.14.0 ships (int8 QDQ, opset 18).
BUNDLED_SHA256 = "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"

INPUT_NAME = "input_features"
OUTPUT_NAME = "logits"  # already a sigmoid probability, shape [batch, 1]
N_MELS = 80
N_FRAMES = 800


class SmartTurnFileError(RuntimeError):
    """The Smart Turn model file is missing or is not a Smart Turn v3 classifier."""


@dataclass(frozen=True)
class SmartTurnFile:
    path: Path
    sha256: str

    @property
    def is_bundled_build(self) -> bool:
        return self.sha256 == BUNDLED_SHA256


def bundled_path() -> Path:
    """Path of the Smart Turn ONNX inside the installed pipecat-ai package."""
    try:
        return Path(str(files(BUNDLED_PACKAGE).joinpath(BUNDLED_NAME)))
    except ModuleNotFoundError as exc:
        raise SmartTurnFileError(
            "pipecat-ai is not installed, so its bundled Smart Turn model is missing: "
            "install switchboard's dependencies (make venv) or set SWITCHBOARD_TURN__MODEL_PATH"
        ) from exc


def locate(path: str | Path | None = None) -> SmartTurnFile:
    """Find and verify the model: `path` if given, else the file bundled in pipecat-ai."""
    model_path = Path(path) if path is not None else bundled_path()
    if not model_path.is_file():
        hint = (
            "check SWITCHBOARD_TURN__MODEL_PATH"
            if path is not None
            else f"reinstall pipecat-ai==1.14.0 (it ships {BUNDLED_NAME})"
        )
        raise SmartTurnFileError(f"Smart Turn model not found at {model_path}: {hint}")
    digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
    if digest != BUNDLED_SHA256:
        _check_signature(model_path)
    return SmartTurnFile(path=model_path, sha256=digest)


def _check_signature(path: Path) -> None:
    """Raise unless the graph takes input_features [N, 80, 800] and returns logits [N, 1]."""
    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception as exc:  # onnx raises DecodeError, OSError, ...
        raise SmartTurnFileError(f"{path} is not a readable ONNX model: {exc}") from exc
    inputs = {i.name: _dims(i) for i in graph.input}
    outputs = {o.name: _dims(o) for o in graph.output}
    if inputs.get(INPUT_NAME, [None])[1:] != [N_MELS, N_FRAMES]:
        raise SmartTurnFileError(
            f"{path} is not a Smart Turn v3 model: expected input '{INPUT_NAME}' "
            f"[batch, {N_MELS}, {N_FRAMES}], found {inputs}"
        )
    if outputs.get(OUTPUT_NAME, [None])[1:] != [1]:
        raise SmartTurnFileError(
            f"{path} is not a Smart Turn v3 model: expected output '{OUTPUT_NAME}' [batch, 1], "
            f"found {outputs}"
        )


def _dims(value: onnx.ValueInfoProto) -> list[int | str]:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
