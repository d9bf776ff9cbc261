# Two commands do all set-up on a fresh machine: `make test` and `make demo`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch is enough for tests; GPU images install their own (Dockerfile.cuda).
TORCH ?= torch==2.13.0
# llama.cpp (the llm-server stand-in) is compiled for plain AVX2, not for the build machine:
# its AMX matmul crashes (SIGSEGV) on Intel CPUs with AMX, and a -march=native wheel left in
# pip's cache would crash on an older CPU. --no-cache-dir keeps a cached native wheel out.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLAMA_REQUIREMENT := $(shell grep -o '"llama-cpp-python[^"]*"' pyproject.toml)

.PHONY: venv test lint demo bench clean peers

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	# dev includes the llm extra: llama-cpp-python compiles llama.cpp here (about 6 minutes).
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet --no-cache-dir $(LLAMA_REQUIREMENT)
	$(BIN)/pip install --quiet -e '.[dev,torch]'
	$(BIN)/pip check
	touch $@

# ruff, then the import layers of docs/architecture.md (import-linter, configured in pyproject.toml).
lint: venv
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Real peers the tests call through: the SIP tests' sipp (Debian: sip-tester) and baresip,
# and the browser test's headless Chromium. baresip-core: baresip without a desktop stack.
PEERS := sipp baresip chromium
peers:
	@for p in $(PEERS); do command -v $$p >/dev/null 2>&1 || missing=1; done; \
	if [ -n "$$missing" ]; then apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	    sip-tester baresip-core && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; fi

# pytest exits 5 when it collects nothing: treat that as a failure, not a pass.
test: venv lint peers
	$(BIN)/pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# One simulated phone call to the agent, all on CPU; DEMO_ARGS="--json call.json" or
# DEMO_ARGS=--interactive (talk to it from a browser at http://localhost:7860).
demo: venv
	$(BIN)/switchboard demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
