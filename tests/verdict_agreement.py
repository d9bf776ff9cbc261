"""How often the torch fp32 Smart Turn gives the same verdict as the bundled int8 ONNX.

In: clips, {name: (int16 mono audio, sample rate)}, prepared as Pipecat's
`LocalSmartTurnAnalyzerV3` prepares them (models.clip.prepare_clip, then Pipecat's own Whisper
log-mel features).
Out: a dict with the agreement rate of the complete/incomplete verdicts (p > 0.5), the largest
and mean |p_torch - p_int8|, the clips that disagree, every clip's (p_int8, p_torch), and for
scale the int8 model's agreement with itself run unfused (its quantization noise floor).
"""

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from pipecat.audio.turn.smart_turn._whisper_features import compute_whisper_log_mel_features

from models.clip import prepare_clip
from models.smart_turn_file import INPUT_NAME, locate
from models.smart_turn_torch import SmartTurnTorch

THRESHOLD = 0.5  # Pipecat: complete when probability > 0.5

Clips = Mapping[str, tuple[np.ndarray, int]]


def pipecat_features(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """int16 mono audio at any rate -> float32 log-mel features [80, 800], as Pipecat does."""
    clip = prepare_clip(audio, sample_rate)
    return compute_whisper_log_mel_features(clip, do_normalize=True).astype(np.float32)


def int8_probabilities(
    features: np.ndarray, path: str | Path | None = None, fused: bool = True
) -> np.ndarray:
    """features [B, 80, 800] -> probabilities [B] from the int8 ONNX on onnxruntime (CPU).

    fused=True runs it as Pipecat does (int8 kernels after graph optimization); fused=False
    runs the QDQ graph op by op in float, which is the same model on paper.
    """
    options = ort.SessionOptions()
    options.log_severity_level = 3  # unfused, onnxruntime warns about every unused scale
    if not fused:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    model = str(locate(path).path)
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    return np.concatenate(
        [session.run(None, {INPUT_NAME: f[None]})[0].ravel() for f in features]
    )  # batch 1, as Pipecat runs it


def torch_probabilities(model: SmartTurnTorch, features: np.ndarray, batch: int = 8) -> np.ndarray:
    """features [B, 80, 800] -> probabilities [B] (float64 numpy) from the torch module."""
    param = next(model.parameters())
    out = []
    with torch.inference_mode():
        for start in range(0, len(features), batch):
            x = torch.from_numpy(features[start : start + batch])
            out.append(model(x.to(param.device, param.dtype)).double().cpu().numpy())
    return np.concatenate(out)


def agreement_report(clips: Clips, model: SmartTurnTorch | None = None) -> dict:
    """Compare torch (default: fp32 on CPU from the bundled ONNX) with the int8 model on clips."""
    model = model or SmartTurnTorch.from_onnx()
    names = list(clips)
    features = np.stack([pipecat_features(*clips[name]) for name in names])
    p_int8 = int8_probabilities(features).astype(np.float64)
    p_torch = torch_probabilities(model, features)
    agree = (p_int8 > THRESHOLD) == (p_torch > THRESHOLD)
    diff = np.abs(p_torch - p_int8)
    # The int8 model's own noise floor: the same file run unfused changes verdicts too.
    p_unfused = int8_probabilities(features, fused=False)
    return {
        "clips": len(names),
        "agreement": float(agree.mean()),
        "int8_unfused_agreement": float(((p_unfused > THRESHOLD) == (p_int8 > THRESHOLD)).mean()),
        "max_abs_diff": float(diff.max()),
        "mean_abs_diff": float(diff.mean()),
        "disagreements": [name for name, ok in zip(names, agree, strict=True) if not ok],
        "probabilities": {
            name: (float(a), float(b)) for name, a, b in zip(names, p_int8, p_torch, strict=True)
        },
    }
