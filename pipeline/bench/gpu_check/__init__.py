"""`make gpu-check`: one prepared command for a short GPU window, and its CPU rehearsal in CI.

In: a device (cuda, or cpu at small sizes), the Smart Turn ONNX (carried in .gpu-assets/) and
an output folder. Out: gpu-check.json (every step with its status, numbers, and the error and
traceback of a step that raised) and gpu-check.txt (a plain table); exit status 1 when a
correctness check failed or raised. Runs with only what the bare GPU image has (torch, numpy,
numba, onnx, prometheus-client): no Pipecat, soxr, pydantic-settings, PyTriton or rich.

Modules: __main__ (arguments, step order, exit status), sizes (what each device runs), record
(a step's record, progress lines, the time budget), provenance, cases (test audio), features,
model (fp32/fp16 and the runner's whole path against the CPU reference), engine (the batching
engine against direct scoring), stages (per-stage and forward-only timing), load (the engine
under closed- and open-loop load), table (the plain-text summary).
"""
