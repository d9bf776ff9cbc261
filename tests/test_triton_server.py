"""`switchboard turn-server` (real Triton, CPU): parity with the in-process engine, dynamic
batching seen in Triton's own metrics, and Triton errors (not crashes) for bad requests."""

import asyncio

import numpy as np
import pytest
import tritonclient.grpc as triton_grpc
from triton_server_fixture import turn_server  # noqa: F401  (the session fixture)
from tritonclient.utils import InferenceServerException
from turn_clips import turn_clips

from models import triton_contract as contract
from models.clip import CLIP_SAMPLES, pad_clip
from models.onnx_runner import OnnxRunner
from models.smart_turn_file import locate
from pipeline.settings import TurnSettings
from pipeline.turn.local_engine import BatchingTurnEngine
from pipeline.turn.triton_engine import TritonTurnEngine, triton_segment

pytestmark = pytest.mark.slow
GENEROUS_MS = 120_000  # a busy 2-core machine: measure answers, not speed
MAX_BATCH = min(TurnSettings().max_batch, TurnSettings().cpu_max_batch)  # the CPU server's


@pytest.fixture
def triton(turn_server):  # noqa: F811
    engine = TritonTurnEngine(turn_server.url, timeout_ms=GENEROUS_MS)
    assert engine.wait_ready(30)
    yield engine
    engine.close()


def clips_16k() -> dict[str, tuple[np.ndarray, int]]:
    return {name: clip for name, clip in turn_clips().items() if clip[1] == 16000}


async def test_probabilities_equal_the_in_process_engine(triton):
    clips = clips_16k()
    local = BatchingTurnEngine(OnnxRunner(locate().path), deadline_ms=GENEROUS_MS)
    try:
        ours = await asyncio.gather(*(local.submit(a, r) for a, r in clips.values()))
    finally:
        local.close()
    served = await asyncio.gather(*(triton.submit(a, r) for a, r in clips.values()))
    for name, mine, theirs in zip(clips, ours, served, strict=True):
        assert abs(mine - theirs) <= 1e-3, (name, mine, theirs)
    assert min(served) < 0.5 < max(served)  # both verdicts occur: the check is not vacuous


async def test_64_concurrent_requests_are_batched_by_triton(triton, turn_server):  # noqa: F811
    audio, rate = clips_16k()["piper1_16k"]
    before = turn_server.metrics()
    probabilities = await asyncio.gather(*(triton.submit(audio, rate) for _ in range(64)))
    # Triton records a batch's statistics just after sending its responses: let them settle.
    for _ in range(50):
        after = turn_server.metrics()
        requests = after["nv_inference_count"] - before.get("nv_inference_count", 0)
        executions = after["nv_inference_exec_count"] - before.get("nv_inference_exec_count", 0)
        if requests >= 64:
            break
        await asyncio.sleep(0.1)
    assert requests == 64
    assert executions < requests, f"{executions} model executions for {requests} requests"
    assert max(probabilities) - min(probabilities) <= 1e-5  # batching changes no answer


def _infer(client: triton_grpc.InferenceServerClient, data: np.ndarray, dtype: str):
    request = triton_grpc.InferInput(contract.INPUT_NAME, list(data.shape), dtype)
    request.set_data_from_numpy(data)
    return client.infer(contract.MODEL_NAME, [request])


@pytest.mark.parametrize(
    ("data", "dtype", "says"),
    [
        (np.zeros((1, 16000), np.float32), "FP32", "data-type"),
        (np.zeros((0, 16000), np.int16), "INT16", "byte size"),
        (np.zeros((MAX_BATCH + 1, 16000), np.int16), "INT16", "batch"),
    ],
    ids=["wrong-dtype", "empty-batch", "batch-too-large"],
)
def test_bad_requests_get_triton_errors_and_the_server_carries_on(
    turn_server,  # noqa: F811
    data,
    dtype,
    says,
):
    with triton_grpc.InferenceServerClient(turn_server.url) as client:
        with pytest.raises(InferenceServerException) as caught:
            _infer(client, data, dtype)
        assert caught.value.status() == "StatusCode.INVALID_ARGUMENT"
        assert says in caught.value.message()
        good = _infer(client, np.zeros((1, 16000), np.int16), "INT16")
        assert good.as_numpy(contract.OUTPUT_NAME).shape == (1, 1)
    assert turn_server.process.poll() is None


def test_the_served_model_takes_turns_of_any_length_in_one_batch(turn_server):  # noqa: F811
    with triton_grpc.InferenceServerClient(turn_server.url) as client:
        config = client.get_model_config(contract.MODEL_NAME).config
    audio = config.input[0]
    assert list(audio.dims) == [-1]
    assert audio.allow_ragged_batch


async def test_ragged_requests_are_batched_and_scored_as_their_padded_clips(triton, turn_server):  # noqa: F811
    speech, _rate = clips_16k()["piper1_16k"]
    # every request a different length: any batch of two is a ragged batch
    segments = [speech[-(8000 + 997 * i) :] for i in range(24)]
    before = turn_server.metrics()
    asked = [asyncio.wrap_future(triton.run(triton.infer(segment))) for segment in segments]
    served = await asyncio.gather(*asked)
    for _ in range(50):  # Triton records a batch's statistics just after answering it
        after = turn_server.metrics()
        requests = after["nv_inference_count"] - before.get("nv_inference_count", 0)
        executions = after["nv_inference_exec_count"] - before.get("nv_inference_exec_count", 0)
        if requests >= len(segments):
            break
        await asyncio.sleep(0.1)
    assert requests == len(segments)
    assert executions < requests, f"{executions} model executions for {requests} requests"
    runner = OnnxRunner(locate().path)
    padded = runner.score(np.stack([pad_clip(segment) for segment in segments]))
    assert np.abs(np.array(served) - padded).max() <= 1e-4
    assert np.ptp(served) > 0.05  # the lengths matter: the comparison is not vacuous


def test_a_row_longer_than_8_s_is_scored_by_its_last_8_s(turn_server):  # noqa: F811
    speech, _rate = clips_16k()["piper1_16k"]
    tail = np.resize(speech, CLIP_SAMPLES)  # 8 s of speech
    longer = np.concatenate([np.full(4000, 9000, np.int16), tail])
    with triton_grpc.InferenceServerClient(turn_server.url) as client:
        scores = [
            _infer(client, row[np.newaxis], "INT16").as_numpy(contract.OUTPUT_NAME)[0, 0]
            for row in (longer, tail)
        ]
    assert scores[0] == pytest.approx(scores[1], abs=1e-5)


def test_a_turn_goes_on_the_wire_unpadded():
    speech, rate = clips_16k()["piper1_16k"]
    assert len(triton_segment(speech[:16000], rate)) == 16000
    at_8k = triton_segment(np.zeros(8000, np.int16), 8000)
    assert at_8k.dtype == np.int16 and len(at_8k) == 16000
