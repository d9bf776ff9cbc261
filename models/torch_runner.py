"""The GPU runner: Smart Turn as a float torch module, features computed on the same device.

In: clips float32 [B, 128000] (host memory). Out: probabilities float32 [B].
On CUDA the clips are copied once to the GPU, the log-mel features are computed there by the
numba CUDA kernel, and the module runs in float16 by default. On CPU (tests, laptops) the same
module runs in float32 with the float32 CPU feature kernel.
"""

from pathlib import Path

import numpy as np
import torch

from models.smart_turn_torch import SmartTurnTorch


class TorchRunner:
    def __init__(
        self, model_path: str | Path, device: str = "cuda", dtype: torch.dtype | None = None
    ) -> None:
        self._torch_device = torch.device(device)
        self.device = self._torch_device.type
        self.dtype = dtype or (torch.float16 if self.device == "cuda" else torch.float32)
        self._model = SmartTurnTorch.from_onnx(model_path, device=device, dtype=self.dtype)

    @torch.inference_mode()
    def score(self, clips: np.ndarray) -> np.ndarray:
        features = self._features(np.ascontiguousarray(clips, dtype=np.float32))
        probabilities = self._model(features.to(self.dtype))
        return probabilities.float().cpu().numpy()

    def _features(self, clips: np.ndarray) -> torch.Tensor:
        if self.device == "cuda":
            from kernels.log_mel_cuda import log_mel_features_cuda

            audio = torch.from_numpy(clips).pin_memory().to(self._torch_device, non_blocking=True)
            return torch.as_tensor(log_mel_features_cuda(audio), device=self._torch_device)
        from kernels.log_mel import log_mel_features

        return torch.from_numpy(log_mel_features(clips))
