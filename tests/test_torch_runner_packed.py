"""TorchRunner.launch (packed int16 turns, front-padded and featurized on the device), run on
the CPU: the same probabilities as TorchRunner.score on the clips models.clip.pad_clip builds.

The model costs about 0.5 s a clip on a 2-core CPU, so the tests of the batch plumbing (turns
in flight, padding to a bucket) swap it for `Probe`, a cheap function of every feature value:
equal probes mean the model was given equal features.
"""

import numpy as np
import pytest
import torch

from models.clip import CLIP_SAMPLES, pad_clip
from models.smart_turn_file import locate
from models.torch_runner import TorchRunner, batch_buckets

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def runner() -> TorchRunner:
    return TorchRunner(locate().path, device="cpu", max_batch=8)


class Probe(torch.nn.Module):
    """features [B, 80, 800] -> [B]: sigmoid of a fixed random projection of all of them."""

    def __init__(self) -> None:
        super().__init__()
        weights = torch.randn(80, 800, generator=torch.Generator().manual_seed(0)) / 80
        self.register_buffer("weights", weights)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid((features * self.weights).sum(dim=(1, 2)))


@pytest.fixture
def probed(runner, monkeypatch) -> TorchRunner:
    monkeypatch.setattr(runner, "_model", Probe())
    return runner


def segments(seed: int, n: int) -> list[np.ndarray]:
    """n turns of mixed lengths (0.1 to 8 s, one empty), every other one float32 in [-1, 1]
    (int16 / 32768, as turn_segment gives for resampled audio)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1600, CLIP_SAMPLES + 1, n)
    lengths[0] = CLIP_SAMPLES
    if n > 2:
        lengths[2] = 0
    turns = []
    for i, length in enumerate(lengths):
        t = np.arange(length) / 16000
        wave = 8000 * np.sin(2 * np.pi * (150 + 40 * i) * t) * (1 + np.sin(2 * np.pi * 3 * t))
        pcm = np.clip(wave + rng.normal(0, 500, length), -32768, 32767).astype(np.int16)
        turns.append(pcm if i % 2 == 0 else pcm.astype(np.float32) / 32768)
    return turns


def expected(runner: TorchRunner, turns: list[np.ndarray]) -> np.ndarray:
    return runner.score(np.stack([pad_clip(turn) for turn in turns]))


@pytest.mark.parametrize("n", [1, pytest.param(7, marks=pytest.mark.slow)])
def test_launch_equals_score_on_padded_clips(runner, n):
    turns = segments(n, n)
    probabilities = runner.launch(turns).result()
    assert probabilities.shape == (n,) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities, expected(runner, turns), atol=TOLERANCE)


def test_launches_in_flight_each_get_their_own_answers(probed):
    """Three launches before any result is read: the third reuses the first's staging buffer."""
    batches = [segments(seed, n) for seed, n in ((11, 7), (12, 1), (13, 4))]
    pending = [probed.launch(turns) for turns in batches]
    for turns, batch in zip(batches, pending, strict=True):
        np.testing.assert_allclose(batch.result(), expected(probed, turns), atol=TOLERANCE)


def test_a_batch_padded_to_its_bucket_keeps_its_answers(probed, monkeypatch):
    """The CUDA path pads a batch with empty turns up to its graph's bucket; run that padding
    eagerly here (the graph replay itself needs a GPU)."""
    monkeypatch.setattr(probed, "graphs", True)
    monkeypatch.setattr(probed, "_run", probed._forward)
    turns = segments(21, 5)  # bucket 8: 3 padding rows
    np.testing.assert_allclose(
        probed.launch(turns).result(), expected(probed, turns), atol=TOLERANCE
    )


def test_batch_buckets_are_powers_of_two_up_to_max_batch():
    assert batch_buckets(256) == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert batch_buckets(48) == [1, 2, 4, 8, 16, 32, 48]
    assert batch_buckets(1) == [1]


def test_a_batch_over_max_batch_or_a_turn_over_8_s_is_refused(runner):
    with pytest.raises(ValueError):
        runner.launch(segments(1, 9))
    with pytest.raises(ValueError):
        runner.launch([])
    with pytest.raises(ValueError):
        runner.launch([np.zeros(CLIP_SAMPLES + 1, np.int16)])
