"""The GPU runner's code path, run on the CPU: the torch module plus the float32 features."""

import numpy as np
import pytest
import torch
from pipecat.audio.turn.smart_turn._whisper_features import (
    compute_whisper_log_mel_features as pipecat_features,
)
from turn_clips import turn_clips

from models.clip import prepare_clip
from models.runner import create_runner, cuda_available
from models.smart_turn_file import locate
from models.smart_turn_torch import SmartTurnTorch
from models.torch_runner import TorchRunner
from pipeline.turn.local_engine import BatchingTurnEngine


@pytest.fixture(scope="module")
def clips() -> np.ndarray:
    return np.stack([prepare_clip(audio, rate) for audio, rate in turn_clips().values()])


def test_torch_runner_equals_the_module_on_pipecat_features(clips):
    runner = TorchRunner(locate().path, device="cpu")
    reference_features = torch.from_numpy(np.stack([pipecat_features(c) for c in clips]))
    with torch.inference_mode():
        reference = SmartTurnTorch.from_onnx(locate().path)(reference_features).numpy()
    np.testing.assert_allclose(runner.score(clips), reference, atol=1e-3)


async def test_engine_batches_on_the_torch_runner(clips):
    """The engine gives launch the turns as turn_segment cuts them, and packing rounds float
    turns (resampled 8 kHz audio) to int16: the reference is `score` on the rounded clips.
    (Rounding moves the 8 kHz clips' probabilities by up to 0.05: see the runner's docstring.)"""
    runner = TorchRunner(locate().path, device="cpu", max_batch=16)
    rounded = np.clip(np.rint(clips * 32768), -32768, 32767).astype(np.float32) / 32768
    engine = BatchingTurnEngine(runner, max_batch=16, deadline_ms=120_000)
    try:
        import asyncio

        batched = await asyncio.gather(*(engine.submit(c, 16000) for c in clips))
    finally:
        engine.close()
    np.testing.assert_allclose(batched, runner.score(rounded), atol=1e-5)
    assert engine.batches < len(clips)


@pytest.mark.skipif(cuda_available(), reason="this machine has a GPU: the error cannot happen")
def test_asking_for_cuda_without_a_gpu_says_how_to_fix_it():
    with pytest.raises(RuntimeError, match="SWITCHBOARD_TURN__DEVICE=cpu"):
        create_runner("cuda")
