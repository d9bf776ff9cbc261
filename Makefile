# Two commands do all set-up on a fresh machine: `make test` and `make demo`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch is enough for tests; GPU images install their own (Dockerfile.cuda).
TORCH ?= torch==2.13.0

.PHONY: venv test lint demo bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e '.[dev,torch]'
	$(BIN)/pip check
	touch $@

lint: venv
	$(BIN)/ruff check .

# pytest exits 5 when it collects nothing: treat that as a failure, not a pass.
test: venv lint
	$(BIN)/pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

demo: venv
	@echo "make demo: the CPU-mode demo call arrives with the agent issue; nothing to run yet."
	@exit 1

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
