"""Smart Turn for Triton's Python backend (stock NGC image): switchboard's runner per instance.

In: a list of requests, each `audio` INT16 [n, L] (n ≥ 1 turns of L samples of 16 kHz PCM;
Triton's dynamic batcher hands over several at once, of any lengths). Out: one response per
request, `probability` FP32 [n, 1]. All requests are scored in one runner call by
models.triton_contract.score_requests, the function
`switchboard turn-server` scores with (models.runner: torch with on-device features on a GPU
instance, the Pipecat-exact int8 ONNX on a CPU instance). If a batch fails, each of its
requests gets the error and the instance carries on.
"""

import json

import triton_python_backend_utils as pb_utils

from models.runner import create_runner, warm_up
from models.triton_contract import INPUT_NAME, OUTPUT_NAME, score_requests


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        config = json.loads(args["model_config"])
        params = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        device = params.get("device") or "auto"
        if args["model_instance_kind"] == "GPU":
            import torch

            torch.cuda.set_device(int(args["model_instance_device_id"]))
            device = "cuda" if device == "auto" else device
        elif device == "auto":
            device = "cpu"  # a CPU instance stays on the CPU even on a GPU machine
        threads = int(params["cpu_threads"]) if params.get("cpu_threads") else None
        self.runner = create_runner(device, params.get("model_path") or None, threads)
        warm_up(self.runner)

    def execute(self, requests: list) -> list:
        audio = [pb_utils.get_input_tensor_by_name(r, INPUT_NAME).as_numpy() for r in requests]
        try:
            answers = score_requests(self.runner, audio)
        except Exception as exc:  # answer the error, keep the instance
            error = pb_utils.TritonError(f"smart_turn failed on a batch: {exc}")
            return [pb_utils.InferenceResponse(error=error) for _ in requests]
        return [
            pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor(OUTPUT_NAME, part)])
            for part in answers
        ]
