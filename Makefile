# Two commands do all set-up on a fresh machine with Python 3.11:
#   make demo   — build the example site and run the demo
#   make test   — ruff, mypy and the whole test suite
# Both create (once) and reuse a local virtual environment in .venv.

PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench clean sysdeps

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cardiofabric pathfinder demo --out demo-out

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

sysdeps:
	@bash scripts/sysdeps.sh

test: lint sysdeps
	$(BIN)/python -m pytest -q

test-fast: lint sysdeps
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache .mypy_cache .ruff_cache
