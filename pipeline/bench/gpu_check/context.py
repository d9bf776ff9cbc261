"""What the steps share, built on first use: the CPU reference model, the runner, the engine.

In: the run's settings (device, model file, runner dtype, graphs, max_batch, sizes). Out: the
CPU fp32 model and its probabilities for the reference turns, one TorchRunner on the device
and one BatchingTurnEngine over it, each built once however many steps use it (a step that
fails to build one records the error; the next step tries again).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from models.smart_turn_torch import SmartTurnTorch
from models.torch_runner import TorchRunner
from pipeline.bench.gpu_check.cases import varied_segments
from pipeline.bench.gpu_check.features import reference_features
from pipeline.bench.gpu_check.record import progress
from pipeline.bench.gpu_check.sizes import Sizes
from pipeline.turn.local_engine import BatchingTurnEngine

QUEUE_SIZE = 16384  # above every load level: the check measures, the queue must not refuse
MAX_WAIT_MS = 2.0  # turn.max_wait_ms's default


@dataclass
class Context:
    device: str
    model: Path
    dtype: torch.dtype | None  # the runner's; None: its default (fp16 on CUDA, fp32 on CPU)
    graphs: bool
    max_batch: int
    sizes: Sizes
    _cpu_model: SmartTurnTorch | None = None
    _reference: tuple[list[np.ndarray], np.ndarray, np.ndarray] | None = None
    _runner: TorchRunner | None = None
    _engine: BatchingTurnEngine | None = None

    @property
    def torch_device(self) -> torch.device:
        return torch.device(self.device)

    def runner_dtype(self) -> torch.dtype:
        return self.dtype or (torch.float16 if self.device == "cuda" else torch.float32)

    def cpu_model(self) -> SmartTurnTorch:
        if self._cpu_model is None:
            self._cpu_model = SmartTurnTorch.from_onnx(self.model, device="cpu")
        return self._cpu_model

    def reference(self) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
        """The reference turns, their CPU-kernel features [K, 80, 800] and the CPU fp32
        probabilities [K]."""
        if self._reference is None:
            turns = varied_segments(self.sizes.model_clips, seed=7)
            features = reference_features(turns)
            with torch.inference_mode():
                probabilities = self.cpu_model()(torch.from_numpy(features)).numpy()
            progress("reference", f"CPU fp32 probabilities of {len(turns)} turns")
            self._reference = (turns, features, probabilities)
        return self._reference

    def runner(self) -> TorchRunner:
        if self._runner is None:
            self._runner = TorchRunner(
                self.model,
                device=self.device,
                dtype=self.dtype,
                max_batch=self.max_batch,
                graphs=self.graphs,
            )
        return self._runner

    def engine(self) -> BatchingTurnEngine:
        """The engine over `runner()`, warmed up (every CUDA graph captured)."""
        if self._engine is None:
            engine = BatchingTurnEngine(
                self.runner(),
                max_batch=self.max_batch,
                max_wait_ms=MAX_WAIT_MS,
                queue_size=QUEUE_SIZE,
                deadline_ms=self.sizes.deadline_ms,
            )
            try:
                engine.wait_ready()
            except BaseException:
                engine.close()
                raise
            self._engine = engine
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
