"""The device's log-mel features against the CPU kernel, on every case at every batch size.

In: the device, the batch sizes, the tolerance. Out (into the step's record): per case and
batch the max abs diff (and where) between models.torch_features (packed int16 ->
front_padded_clips -> LogMel, on the device, as the runner computes them) and
kernels.log_mel.log_mel_features on the clips models.clip.pad_clip builds; the step fails if
any is over the tolerance.
"""

import numpy as np
import torch

from kernels.log_mel import log_mel_features
from models.clip import pad_clip
from models.packed_batch import pack, staging_for
from models.torch_features import LogMel, front_padded_clips
from pipeline.bench.gpu_check.cases import CASES, INFO_CASES, segments
from pipeline.bench.gpu_check.record import Step, check, progress


def device_features(turns: list[np.ndarray], log_mel: LogMel, device: torch.device) -> torch.Tensor:
    """The runner's feature path for `turns`: float32 [B, 80, 800] on `device`."""
    staging, offsets = staging_for(len(turns))
    used = pack(turns, staging, offsets)
    samples = torch.from_numpy(staging[: max(used, 1)]).to(device)  # all-empty turns: 1 sample
    bounds = torch.from_numpy(offsets).to(device)
    with torch.inference_mode():
        return log_mel(front_padded_clips(samples, bounds))


def reference_features(turns: list[np.ndarray]) -> np.ndarray:
    """The CPU kernel's features of the Pipecat-padded clips: float32 [B, 80, 800]."""
    return log_mel_features(np.stack([pad_clip(turn) for turn in turns]))


def check_features(
    record: Step, device: torch.device, batches: tuple[int, ...], tolerance: float
) -> None:
    log_mel = LogMel().to(device)
    rows = []
    for batch in batches:
        for case in CASES + INFO_CASES:
            turns = segments(case, batch, seed=batch)
            got = device_features(turns, log_mel, device).cpu().numpy()
            want = reference_features(turns)
            error = np.abs(got - want)
            clip, mel, frame = np.unravel_index(int(error.argmax()), error.shape)
            diff = float(error[clip, mel, frame])
            rows.append(
                {
                    "case": case,
                    "batch": batch,
                    "max_abs_diff": diff,
                    "worst_at": {"clip": int(clip), "mel": int(mel), "frame": int(frame)},
                    "reference_there": float(want[clip, mel, frame]),
                    "clip_floor": float(want[clip].min()),  # the clamp (clip max - 8 + 4) / 4
                }
            )
            if case in INFO_CASES:
                rows[-1]["checked"] = False
            else:
                check(record, f"{case} x{batch}", diff, tolerance)
            progress("features", f"{case:>12} batch {batch:>4}: max abs diff {diff:.2e}")
    record["cases"] = rows
    record["tolerance"] = tolerance
    record["max_abs_diff"] = max(r["max_abs_diff"] for r in rows if r.get("checked", True))
