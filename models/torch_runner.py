"""The GPU runner: Smart Turn as a float torch module, features computed on the same device.

In: unpadded 16 kHz turn segments (`launch`, models.clip.turn_segment) or clips float32
[B, 128000] (`score`, models.clip.prepare_clip). Out: probabilities float32 [B].
`launch` packs the turns into one of two preallocated staging buffers (pinned on CUDA, used in
turn so the next batch is packed while this one runs), copies the used bytes (offsets, then
int16 samples) to the device in one copy, and there builds the front-padded clips, the log-mel
features (models.torch_features) and the probabilities; result() waits for that batch alone.
On CUDA the device part runs in float16 by default as one CUDA graph per batch-size bucket
(1, 2, 4, ... max_batch; a batch is padded with empty turns up to its bucket), captured on a
bucket's first use or by `warm`. On CPU (tests, laptops) the same code runs eagerly in float32.
Packing rounds float turns (audio resampled from another rate) to int16: exact for 16 kHz int16
turns (the agent's), not for resampled telephone audio, whose rounding noise fills the empty
4-8 kHz band of the features. The features are computed in float32 on every device:
with TF32 matmuls allowed, the mel projection would lose the 1e-4 agreement with kernels/log_mel.
"""

import contextlib
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from models.clip import CLIP_SAMPLES
from models.packed_batch import Done, pack
from models.smart_turn_torch import SmartTurnTorch
from models.torch_features import LogMel, front_padded_clips

_OFFSET_BYTES = 8  # int64


def batch_buckets(max_batch: int) -> list[int]:
    """The batch sizes that get a CUDA graph: powers of two below max_batch, then max_batch."""
    sizes = [1 << i for i in range(max_batch.bit_length()) if 1 << i < max_batch]
    return [*sizes, max_batch]


class _Staging:
    """One host staging buffer: offsets int64 [max_batch + 1], then int16 samples, in one
    byte buffer so that a batch is one copy."""

    def __init__(self, max_batch: int, pinned: bool) -> None:
        self.header = (max_batch + 1) * _OFFSET_BYTES
        size = self.header + max_batch * CLIP_SAMPLES * 2
        self.buffer = torch.zeros(size, dtype=torch.uint8, pin_memory=pinned)
        raw = self.buffer.numpy()
        self.offsets = raw[: self.header].view(np.int64)
        self.samples = raw[self.header :].view(np.int16)
        self.copied: torch.cuda.Event | None = None  # set once its last copy is enqueued


class _OnDevice:
    """A CUDA batch in flight: result() waits for its event, then reads its pinned copy."""

    def __init__(self, probabilities: torch.Tensor, done: torch.cuda.Event) -> None:
        self._probabilities = probabilities
        self._done = done

    def result(self) -> np.ndarray:
        self._done.synchronize()
        return self._probabilities.numpy()


class TorchRunner:
    def __init__(
        self,
        model_path: str | Path,
        device: str = "cuda",
        dtype: torch.dtype | None = None,
        max_batch: int = 256,
        graphs: bool = True,
    ) -> None:
        self._torch_device = torch.device(device)
        self.device = self._torch_device.type
        cuda = self.device == "cuda"
        self.dtype = dtype or (torch.float16 if cuda else torch.float32)
        self.max_batch = max_batch
        self.graphs = graphs and cuda
        self._model = SmartTurnTorch.from_onnx(model_path, device=device, dtype=self.dtype)
        self._log_mel = LogMel().to(self._torch_device)
        self._staging = [_Staging(max_batch, pinned=cuda) for _ in range(2)]
        self._turn = 0
        header, size = self._staging[0].header, len(self._staging[0].buffer)
        self._on_device = torch.zeros(size, dtype=torch.uint8, device=device)  # same layout
        self._offsets = self._on_device[:header].view(torch.int64)
        self._samples = self._on_device[header:].view(torch.int16)
        self._buckets = batch_buckets(max_batch)
        self._stream = torch.cuda.Stream(self._torch_device) if cuda else None
        self._graphs: dict[int, tuple[torch.cuda.CUDAGraph, torch.Tensor]] = {}
        self._pool = torch.cuda.graph_pool_handle() if self.graphs else None
        self._lock = threading.Lock()

    @torch.inference_mode()
    def score(self, clips: np.ndarray) -> np.ndarray:
        audio = torch.from_numpy(np.ascontiguousarray(clips, dtype=np.float32))
        features = self._log_mel(audio.to(self._torch_device))
        return self._model(features.to(self.dtype)).float().cpu().numpy()

    @torch.inference_mode()
    def launch(self, segments: Sequence[np.ndarray]) -> Done | _OnDevice:
        n = len(segments)
        bucket = self._bucket(n)  # ValueError unless 1 <= n <= max_batch
        rows = bucket if self.graphs else n
        with self._lock, self._on_stream():
            staging = self._staging[self._turn]
            self._turn = 1 - self._turn
            if staging.copied is not None:
                staging.copied.synchronize()  # its previous batch is on the device by now
            used = pack(segments, staging.samples, staging.offsets)
            staging.offsets[n + 1 : rows + 1] = used  # padding rows: empty turns
            size = staging.header + 2 * used
            self._on_device[:size].copy_(staging.buffer[:size], non_blocking=True)
            if self._stream is None:
                return Done(self._run(rows)[:n].numpy())
            staging.copied = self._record()
            probabilities = torch.empty(n, dtype=torch.float32, pin_memory=True)
            probabilities.copy_(self._run(rows)[:n], non_blocking=True)
            return _OnDevice(probabilities, self._record())

    @torch.inference_mode()
    def warm(self, buckets: Iterable[int] | None = None) -> None:
        """Capture the CUDA graphs of `buckets` (default: all) now, largest first so that the
        smaller ones reuse its memory; a no-op without graphs."""
        if not self.graphs:
            return
        with self._lock, self._on_stream():
            self._offsets.zero_()  # every row an empty turn
            for rows in sorted({self._bucket(n) for n in buckets or self._buckets}, reverse=True):
                if rows not in self._graphs:
                    self._capture(rows)
            self._stream.synchronize()

    def _forward(self, rows: int) -> torch.Tensor:
        """The device part for the first `rows` turns of the device buffer: float32 [rows]."""
        clips = front_padded_clips(self._samples, self._offsets[: rows + 1])
        return self._model(self._log_mel(clips).to(self.dtype)).float()

    def _run(self, rows: int) -> torch.Tensor:
        if not self.graphs:
            return self._forward(rows)
        if rows not in self._graphs:
            self._capture(rows)
        graph, probabilities = self._graphs[rows]
        graph.replay()
        return probabilities

    def _capture(self, rows: int) -> None:
        """Record `_forward(rows)` as a CUDA graph whose output tensor is static. Warm-up runs
        on a side stream first (cuFFT plans, cuBLAS workspaces, allocator), as torch's CUDA
        graph docs prescribe; "thread_local" lets other threads use CUDA meanwhile."""
        side = torch.cuda.Stream(self._torch_device)
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):
                self._forward(rows)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self._pool, capture_error_mode="thread_local"):
            probabilities = self._forward(rows)
        self._graphs[rows] = (graph, probabilities)

    def _bucket(self, n: int) -> int:
        """The smallest bucket that holds a batch of n."""
        if not 0 < n <= self.max_batch:
            raise ValueError(f"a batch holds 1 to {self.max_batch} turns, not {n}")
        return next(size for size in self._buckets if size >= n)

    def _on_stream(self) -> contextlib.AbstractContextManager:
        return torch.cuda.stream(self._stream) if self._stream else contextlib.nullcontext()

    def _record(self) -> torch.cuda.Event:
        event = torch.cuda.Event()
        event.record(self._stream)
        return event
