"""Smart Turn for Triton's Python backend (stock NGC image): switchboard's runner per instance.

In: a list of requests, each `audio` INT16 [n, 128000] (n ≥ 1; Triton's dynamic batcher hands
over several at once). Out: one response per request, `probability` FP32 [n, 1]. All requests
are scored in one runner call (models.runner: torch with on-device features on a GPU instance,
the Pipecat-exact int8 ONNX on a CPU instance), exactly as `switchboard turn-server` does. If a
batch fails, each of its requests gets the error and the instance carries on.
"""

import json

import numpy as np
import triton_python_backend_utils as pb_utils

from models.runner import create_runner
from pipeline.turn.clip import CLIP_SAMPLES, to_float32


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
        self.runner.score(np.zeros((1, CLIP_SAMPLES), dtype=np.float32))  # warm up

    def execute(self, requests: list) -> list:
        audio = [pb_utils.get_input_tensor_by_name(r, "audio").as_numpy() for r in requests]
        try:
            probabilities = self.runner.score(to_float32(np.concatenate(audio)))
        except Exception as exc:  # answer the error, keep the instance
            error = pb_utils.TritonError(f"smart_turn failed on a batch: {exc}")
            return [pb_utils.InferenceResponse(error=error) for _ in requests]
        responses, start = [], 0
        for clips in audio:
            part = probabilities[start : start + len(clips)].astype(np.float32).reshape(-1, 1)
            start += len(clips)
            tensor = pb_utils.Tensor("probability", part)
            responses.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
        return responses
