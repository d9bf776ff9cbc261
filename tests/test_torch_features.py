"""models.torch_features (the GPU runner's input path, run here on the CPU) against the CPU
kernel (kernels.log_mel) and models.clip.pad_clip."""

import functools

import numpy as np
import pytest
import torch

from kernels.log_mel import log_mel_features
from models.clip import CLIP_SAMPLES, pad_clip
from models.packed_batch import pack, staging_for
from models.torch_features import LogMel, front_padded_clips

TOLERANCE = 1e-4
RATE = 16000


def _front_padded(n: int, audio: np.ndarray) -> np.ndarray:
    return pad_clip(audio[-n:].astype(np.float32)) if n else np.zeros(CLIP_SAMPLES, np.float32)


@functools.cache
def clips() -> np.ndarray:
    """7 clips float32 [7, 128000]: noise, tones, silence, front-padded and very short turns."""
    rng = np.random.default_rng(15)
    t = np.arange(CLIP_SAMPLES) / RATE
    noise = rng.normal(0.0, 0.1, CLIP_SAMPLES)
    speechy = np.round(rng.normal(0.0, 3000.0, CLIP_SAMPLES) * np.sin(2 * np.pi * 3 * t)) / 32768
    return np.stack(
        [
            noise,
            0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * np.sin(2 * np.pi * 3100 * t),
            np.zeros(CLIP_SAMPLES),
            _front_padded(2 * RATE, speechy),  # a 2 s turn
            _front_padded(400, speechy),  # one STFT frame of audio
            _front_padded(7, noise),  # very short
            1e-5 * noise,  # quiet: mel power near the 1e-10 floor
        ]
    ).astype(np.float32)


def torch_log_mel(batch: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return LogMel()(torch.from_numpy(batch)).numpy()


@functools.cache
def batch_of_7() -> np.ndarray:
    return torch_log_mel(clips())


def test_batch_of_7_matches_the_cpu_kernel():
    features = batch_of_7()
    assert features.shape == (7, 80, 800) and features.dtype == np.float32
    worst = np.abs(features - log_mel_features(clips())).max(axis=(1, 2))
    assert (worst <= TOLERANCE).all(), f"max abs difference per clip {worst}"


@pytest.mark.parametrize("index", range(7))
def test_batch_of_1_matches_the_cpu_kernel_and_its_row_in_a_batch(index):
    clip = clips()[index : index + 1]
    features = torch_log_mel(clip)
    assert np.abs(features - log_mel_features(clip)).max() <= TOLERANCE
    np.testing.assert_allclose(features[0], batch_of_7()[index], atol=1e-6)


def test_clips_shorter_than_8_s_give_n_over_160_frames():
    batch = clips()[:2, : 3 * RATE + 77]
    features = torch_log_mel(batch)
    assert features.shape == (2, 80, (3 * RATE + 77) // 160)
    assert np.abs(features - log_mel_features(batch)).max() <= TOLERANCE


def test_front_padded_clips_equal_pad_clip_for_packed_int16_and_float_turns():
    rng = np.random.default_rng(3)
    turns = [rng.integers(-32768, 32767, n, dtype=np.int16) for n in (16000, 0, 1, CLIP_SAMPLES, 5)]
    turns[1] = turns[0][:333].astype(np.float32) / 32768  # float turns, as turn_segment gives
    staging, offsets = staging_for(len(turns) + 2)
    used = pack(turns, staging, offsets)
    offsets[len(turns) + 1 :] = used  # padding rows, as the runner pads a batch to its bucket
    got = front_padded_clips(torch.from_numpy(staging), torch.from_numpy(offsets)).numpy()
    expected = np.stack([pad_clip(turn) for turn in turns])
    assert got.shape == (len(turns) + 2, CLIP_SAMPLES)
    np.testing.assert_array_equal(got[: len(turns)], expected)
    assert not got[len(turns) :].any()
