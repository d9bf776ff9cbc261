"""Undo the int8 quantization of the Smart Turn ONNX: float32 weights and a float32 graph.

The bundled model is a QDQ graph: every weight is stored as int8/int32 and passes through a
DequantizeLinear node, and most activations pass through a QuantizeLinear -> DequantizeLinear
pair that rounds them to uint8. This module reads the weights back as float32 and builds the
same graph without any rounding (the "fp32 reference").

In: an ONNX path or `onnx.ModelProto` (the int8 QDQ Smart Turn model).
Out: `float_weights(model)`: {graph tensor name: float32 array};
     `pytorch_weights(model)`: the same weights under the trained PyTorch module's names;
     `dequantized_onnx(path)`: a float32 `onnx.ModelProto` with the same inputs and outputs.
"""

from collections import defaultdict
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

DQ_SUFFIX = "_DequantizeLinear_Output"  # how the quantizer names a dequantized weight
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")


def _load(model: str | Path | onnx.ModelProto) -> onnx.ModelProto:
    return model if isinstance(model, onnx.ModelProto) else onnx.load(str(model))


def dequantize(
    q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, axis: int = 1
) -> np.ndarray:
    """ONNX DequantizeLinear: (q - zero_point) * scale, per tensor or per channel on `axis`."""
    if scale.size > 1:  # per-channel: line scale and zero point up with `axis`
        shape = [1] * q.ndim
        shape[axis] = scale.size
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    centred = q.astype(np.int64) - zero_point.astype(np.int64)
    return (centred.astype(np.float32) * scale.astype(np.float32)).astype(np.float32)


def _attr(node: onnx.NodeProto, name: str, default: int) -> int:
    return next((a.i for a in node.attribute if a.name == name), default)


def float_weights(model: str | Path | onnx.ModelProto) -> dict[str, np.ndarray]:
    """Every float weight the graph's compute nodes read, keyed by the name they read it as.

    Float initializers come as they are (quantization scales left out); a weight behind
    DequantizeLinear comes dequantized, under that node's output name
    (e.g. "val_17_DequantizeLinear_Output").
    """
    graph = _load(model).graph
    stored = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    computed = {i for n in graph.node if n.op_type not in QDQ_OPS for i in n.input}
    weights = {k: a for k, a in stored.items() if a.dtype == np.float32 and k in computed}
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in stored:
            q, scale, zero_point = (stored[name] for name in node.input)
            weights[node.output[0]] = dequantize(q, scale, zero_point, _attr(node, "axis", 1))
    return weights


def dequantized_onnx(path: str | Path | onnx.ModelProto) -> onnx.ModelProto:
    """The same network computing in float32: weight QDQ folded, activation QDQ pairs removed."""
    model = onnx.ModelProto()
    model.CopyFrom(_load(path))
    graph = model.graph
    weights = float_weights(model)
    quantize_input = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "QuantizeLinear"}

    rename: dict[str, str] = {}  # activation DequantizeLinear output -> the float it rounded
    nodes = []
    for node in graph.node:
        if node.op_type == "QuantizeLinear":
            continue
        if node.op_type == "DequantizeLinear":
            if node.input[0] in quantize_input:
                rename[node.output[0]] = quantize_input[node.input[0]]
            elif node.output[0] not in weights:
                raise ValueError(f"DequantizeLinear {node.name} reads neither a weight nor a Q")
            continue
        nodes.append(node)
    for node in nodes:
        for i, name in enumerate(node.input):
            node.input[i] = rename.get(name, name)
    if any(o.name in rename for o in graph.output) or any(q in rename for q in quantize_input):
        raise ValueError("unexpected QDQ layout: a graph output or a Q output is rewired")

    used = {name for node in nodes for name in node.input}
    kept = [t for t in graph.initializer if t.name in used and t.name not in weights]
    new = [numpy_helper.from_array(a, name) for name, a in weights.items() if name in used]
    del graph.node[:], graph.initializer[:], graph.value_info[:]
    graph.node.extend(nodes)
    graph.initializer.extend(kept + new)
    onnx.checker.check_model(model)
    return model


def pytorch_weights(model: str | Path | onnx.ModelProto) -> dict[str, np.ndarray]:
    """The float32 weights under the trained module's names ("inner.encoder.conv1.weight"...).

    Linear weights come in nn.Linear layout [out, in]. The exporter renamed the MatMul weights
    (val_17, ...): each is named after the bias added to its output, and Whisper's bias-less
    k_proj after the q_proj that reads the same input.
    """
    model = _load(model)
    weights = float_weights(model)
    result = {
        name.removesuffix(DQ_SUFFIX): a for name, a in weights.items() if name.startswith("inner.")
    }
    consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
    for node in model.graph.node:
        for name in node.input:
            consumers[name].append(node)

    def after_qdq(name: str) -> str:
        """Follow a tensor through activation Quantize -> Dequantize pairs."""
        while len(consumers[name]) == 1 and consumers[name][0].op_type == "QuantizeLinear":
            name = consumers[consumers[name][0].output[0]][0].output[0]
        return name

    matmuls = [n for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    q_proj_by_input: dict[str, str] = {}
    biasless = []
    for node in matmuls:
        adds = [n for n in consumers[after_qdq(node.output[0])] if n.op_type == "Add"]
        biases = [
            i for n in adds for i in n.input if i.startswith("inner.") and i.endswith(".bias")
        ]
        if not biases:
            biasless.append(node)
            continue
        name = biases[0].removesuffix(".bias") + ".weight"
        result[name] = weights[node.input[1]].T.copy()
        if name.endswith("q_proj.weight"):
            q_proj_by_input[node.input[0]] = name
    for node in biasless:
        q_name = q_proj_by_input[node.input[0]]
        result[q_name.replace("q_proj", "k_proj")] = weights[node.input[1]].T.copy()
    return result
