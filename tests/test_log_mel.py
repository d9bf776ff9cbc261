"""The float32 log-mel kernels (CPU, and CUDA under numba's simulator) against Pipecat's own."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pipecat.audio.turn.smart_turn import _whisper_features as pipecat_features
from speech_audio import beckett, synthesize

from kernels import log_mel_chunks
from kernels.log_mel import hann_window, log_mel_features, mel_filters, twiddles

TOLERANCE = 1e-3
CLIP = 128000  # 8 s at 16 kHz, Smart Turn's window
REPO = Path(__file__).resolve().parent.parent


def pipecat(clip: np.ndarray) -> np.ndarray:
    return pipecat_features.compute_whisper_log_mel_features(clip)


def window_8s(audio: np.ndarray) -> np.ndarray:
    """int16 audio -> float32 [128000] the way Smart Turn feeds it: keep the last 8 s, or
    zero-pad at the start when shorter."""
    x = audio[-CLIP:].astype(np.float32) / 32768.0
    return np.concatenate([np.zeros(CLIP - len(x), dtype=np.float32), x])


def tone_after_silence() -> np.ndarray:
    t = np.arange(CLIP) / 16000
    return (0.3 * np.sin(2 * np.pi * 440 * t) * (t > 5.0)).astype(np.float32)


def noise(seed: int, n: int = CLIP) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 0.1, n).astype(np.float32)


def assert_matches_pipecat(batch: np.ndarray) -> float:
    features = log_mel_features(batch)
    assert features.shape == (len(batch), 80, 800) and features.dtype == np.float32
    worst = 0.0
    for row, clip in zip(features, batch, strict=True):
        worst = max(worst, float(np.abs(row - pipecat(clip)).max()))
    assert worst <= TOLERANCE, f"max abs difference {worst}"
    return worst


def test_block_power_is_the_rfft_power_of_windowed_frames() -> None:
    pairs = log_mel_chunks.PAIRS
    x = noise(8, 160 * (2 * pairs + 4))
    xt = np.ascontiguousarray(x.reshape(-1, 160).T)  # xt[c, r] = x[160 r + c]
    window = hann_window().astype(np.float32)
    power = np.zeros((201, 2 * pairs + 3), dtype=np.float32)
    log_mel_chunks.block_power(xt, 1, window, twiddles(), power, 3)
    frames = np.stack([x[160 * f : 160 * f + 400] for f in range(1, 1 + 2 * pairs)])
    expected = np.abs(np.fft.rfft(frames.astype(np.float64) * hann_window(), axis=1).T) ** 2
    np.testing.assert_allclose(power[:, 3:] / 4, expected, rtol=1e-4, atol=1e-6 * expected.max())
    assert not power[:, :3].any()


def test_constants_equal_pipecats() -> None:
    np.testing.assert_allclose(mel_filters(), pipecat_features._MEL_FILTERS, rtol=0, atol=1e-12)
    np.testing.assert_allclose(hann_window(), pipecat_features._HANN_WINDOW, rtol=0, atol=1e-12)


def test_noise() -> None:
    assert_matches_pipecat(np.stack([noise(1), noise(2) * 0.001]))


@pytest.mark.parametrize("amplitude", [1e-5, 1e-7, 1e-8, 1e-9])
def test_quiet_audio_near_the_mel_floor(amplitude: float) -> None:
    """Normalization divides by sqrt(var + 1e-7), so very quiet clips stay quiet and their mel
    power lands near the 1e-10 floor: the floor must be a max, not an offset."""
    assert_matches_pipecat((noise(6) * amplitude)[None])


def test_tone_after_silence() -> None:
    assert_matches_pipecat(tone_after_silence()[None])


def test_human_speech_longer_than_8s() -> None:
    audio, rate = beckett()
    assert rate == 16000 and len(audio) > CLIP
    assert_matches_pipecat(window_8s(audio)[None])


def test_piper_speech_shorter_than_8s() -> None:
    audio = synthesize("My order number is", 16000)
    assert len(audio) < CLIP
    assert_matches_pipecat(window_8s(audio)[None])


def test_mixed_batch_rows_are_independent() -> None:
    clips = [noise(3), window_8s(beckett()[0]), np.zeros(CLIP, np.float32), tone_after_silence()]
    batch = np.stack(clips)
    assert_matches_pipecat(batch)
    alone = log_mel_features(batch[1:2])
    np.testing.assert_array_equal(log_mel_features(batch)[1], alone[0])


def test_silence_gives_pipecats_constant_not_nan() -> None:
    expected = pipecat(np.zeros(CLIP, np.float32))
    assert np.isfinite(expected).all()
    features = log_mel_features(np.zeros((2, CLIP), np.float32))
    assert np.isfinite(features).all()
    np.testing.assert_allclose(features[0], expected, rtol=0, atol=TOLERANCE)


def reference_any_length(clip: np.ndarray) -> np.ndarray:
    """Pipecat's steps without its 8-second pad/cut, for inputs of other lengths."""
    x = (clip - clip.mean()) / np.sqrt(clip.var() + 1e-7)
    power = pipecat_features._power_spectrogram(x, pipecat_features._HANN_WINDOW, 400, 160)
    log_spec = np.log10(np.maximum(1e-10, pipecat_features._MEL_FILTERS.T @ power))[:, :-1]
    return ((np.maximum(log_spec, log_spec.max() - 8.0) + 4.0) / 4.0).astype(np.float32)


@pytest.mark.parametrize("n", [400, 1234, 1600, 16000 + 77])
def test_other_lengths_give_n_over_160_frames(n: int) -> None:
    batch = np.stack([noise(4, n), noise(5, n) + 0.5])
    features = log_mel_features(batch)
    assert features.shape == (2, 80, n // 160)
    for row, clip in zip(features, batch, strict=True):
        assert np.abs(row - reference_any_length(clip)).max() <= TOLERANCE


@pytest.mark.parametrize("shape", [(CLIP,), (2, 399), (1, 2, CLIP)])
def test_rejects_bad_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        log_mel_features(np.zeros(shape, np.float32))


SIMULATOR_SCRIPT = """
import json, numpy as np
from kernels.log_mel import log_mel_features
from kernels.log_mel_cuda import log_mel_features_cuda
rng = np.random.default_rng(7)
audio = rng.normal(0, 0.1, (2, 800)).astype(np.float32)
audio[1, :300] = 0.0
audio[1, 300:] = np.sin(np.arange(500) * 0.3).astype(np.float32)
out = log_mel_features_cuda(audio)
gpu = out.copy_to_host()
cpu = log_mel_features(audio)
print(json.dumps({"shape": list(gpu.shape), "finite": bool(np.isfinite(gpu).all()),
                  "diff": float(np.abs(gpu - cpu).max())}))
"""


def test_cuda_kernel_under_simulator_matches_cpu() -> None:
    """numba's CUDA simulator must be enabled before numba is imported: use a fresh process."""
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-c", SIMULATOR_SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["shape"] == [2, 80, 5] and result["finite"]
    assert result["diff"] <= TOLERANCE


def test_cuda_module_imports_without_a_gpu() -> None:
    import kernels.log_mel_cuda as module

    assert callable(module.log_mel_features_cuda)


def test_cuda_kernels_compile_for_an_h100() -> None:
    """The simulator runs the kernels as Python; this compiles them for the real target (PTX for
    sm_90), which needs libNVVM from a CUDA toolkit but no GPU. Skipped where NVVM is missing."""
    from numba import cuda, float32, int32

    from kernels import log_mel_cuda

    if not hasattr(cuda, "compile_ptx"):
        pytest.skip("numba's CUDA simulator is on in this process")
    from numba.cuda.cudadrv import nvvm

    if not nvvm.is_available():
        pytest.skip("libNVVM (CUDA toolkit) not installed")
    f1, f2, f3, i1 = float32[:], float32[:, :], float32[:, :, :], int32[:]
    signatures = {
        log_mel_cuda._stats_kernel: (f2, f1, f1, f1),
        log_mel_cuda._frame_kernel: (f2, f1, f1, f1, f2, i1, i1, f2, f3, f1),
        log_mel_cuda._clamp_kernel: (f3, f1),
    }
    for kernel, signature in signatures.items():
        ptx, _ = cuda.compile_ptx(kernel.py_func, signature, cc=(9, 0))
        assert ".entry" in ptx
