"""The Smart Turn model contract and its runners: clip preparation and validation (clip), the
Triton contract and scoring function (triton_contract), the runners and their warm-up and
batch cap (runner, onnx_runner, torch_runner), the model file and its GPU-ready variants
(smart_turn_file, onnx_weights, smart_turn_torch), and the shared Silero VAD session
(silero_vad). Nothing here imports the pipeline package."""
