# Two commands do all set-up on a fresh machine: `make test` and `make demo`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch is enough for tests; GPU images install their own (Dockerfile.cuda).
TORCH ?= torch==2.13.0
# Every other package is pinned in constraints.txt, which Dockerfile.cuda installs through too.
# CONSTRAINTS= (empty) resolves afresh: how constraints.txt is regenerated (see its header).
CONSTRAINTS ?= constraints.txt
PIP_CONSTRAINTS := $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
# llama.cpp (the llm-server stand-in) is compiled for plain AVX2, not for the build machine:
# its AMX matmul crashes (SIGSEGV) on Intel CPUs with AMX, and a -march=native wheel left in
# pip's cache would crash on an older CPU. --no-cache-dir keeps a cached native wheel out.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLAMA_REQUIREMENT := $(shell grep -o '"llama-cpp-python[^"]*"' pyproject.toml)

.PHONY: venv check test lint demo bench clean peers gpu-assets gpu-check gpu-check-cpu

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip $(PIP_CONSTRAINTS)
	$(BIN)/pip install --quiet "$(TORCH)" $(PIP_CONSTRAINTS)
	# dev includes the llm extra: llama-cpp-python compiles llama.cpp here (about 6 minutes).
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet --no-cache-dir $(PIP_CONSTRAINTS) \
	  $(LLAMA_REQUIREMENT)
	$(BIN)/pip install --quiet -e '.[dev,torch]' $(PIP_CONSTRAINTS)
	$(BIN)/pip check
	touch $@

# ruff, then the import layers of docs/architecture.md (import-linter, configured in pyproject.toml).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Real peers the tests call through: the SIP tests' sipp (Debian: sip-tester) and baresip,
# Kamailio (the SIP proxy tests; its dispatcher, tm, rr and ipops modules are in the base
# package), and the browser test's headless Chromium. baresip-core: baresip without a desktop stack.
PEERS := sipp baresip kamailio chromium
peers:
	@for p in $(PEERS); do command -v $$p >/dev/null 2>&1 || missing=1; done; \
	if [ -n "$$missing" ]; then apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	    sip-tester baresip-core kamailio && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; fi

# The inner loop while changing code (under 2 minutes): lint, then the unit tests, which start
# no servers or peers (tests/unit_modules.py). `make test` runs everything.
check: lint
	$(BIN)/pytest -q -m "unit and not slow"; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# pytest exits 5 when it collects nothing: treat that as a failure, not a pass.
# gpu-check-cpu first: a stray import or a numpy-2 break there would waste a GPU window.
test: venv lint peers gpu-check-cpu
	$(BIN)/pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# One simulated phone call to the agent, all on CPU; DEMO_ARGS="--json call.json" or
# DEMO_ARGS=--interactive (talk to it from a browser at http://localhost:7860).
demo: venv
	$(BIN)/switchboard demo $(DEMO_ARGS)

# The GPU window (docs/gpu-check.md). `make gpu-assets` here copies what the bare GPU image
# lacks into $(GPU_ASSETS) (git-ignored; the run carries it); `make gpu-check` there runs every
# check with the image's own python3 (no venv, no install) and writes JSON and a table to OUT
# (the device machine sets OUT). DEVICE=cpu runs the same steps at small sizes, here, in
# $(GPU_VENV): a venv with only what the GPU image has, built on first use.
GPU_ASSETS ?= .gpu-assets
SMART_TURN_ONNX := smart-turn-v3.2-cpu.onnx
DEVICE ?= cuda
OUT ?= out/gpu-check
GPU_CHECK_ARGS ?=
# CI's stand-in for the GPU image: only the packages that image has (CPU torch, numpy 2).
GPU_VENV ?= .gpu-venv
ifeq ($(DEVICE),cpu)
GPU_PYTHON ?= $(GPU_VENV)/bin/python
GPU_CHECK_NEEDS := $(GPU_VENV)/.installed gpu-assets
else
GPU_PYTHON ?= python3
GPU_CHECK_NEEDS :=
endif
GPU_VENV_PACKAGES := "numpy>=2" "$(TORCH)" numba onnx onnxruntime scipy prometheus-client pytest

gpu-assets: venv
	mkdir -p $(GPU_ASSETS)
	cp "$$($(BIN)/python -c 'from models.smart_turn_file import locate; print(locate().path)' \
	  2>/dev/null | tail -n 1)" $(GPU_ASSETS)/$(SMART_TURN_ONNX)
	du -sh $(GPU_ASSETS)

gpu-check: $(GPU_CHECK_NEEDS)
	PYTHONUNBUFFERED=1 PYTHONPATH=. $(GPU_PYTHON) -m pipeline.bench.gpu_check --device $(DEVICE) \
	  --out $(OUT) --model $(GPU_ASSETS)/$(SMART_TURN_ONNX) $(GPU_CHECK_ARGS)

$(GPU_VENV)/.installed:
	rm -rf $(GPU_VENV)
	$(PYTHON) -m venv $(GPU_VENV)
	$(GPU_VENV)/bin/pip install --quiet $(GPU_VENV_PACKAGES)
	touch $@

gpu-check-cpu:
	$(MAKE) gpu-check DEVICE=cpu OUT=out/gpu-check-cpu

clean:
	rm -rf $(VENV) $(GPU_VENV) $(GPU_ASSETS) .pytest_cache .ruff_cache
