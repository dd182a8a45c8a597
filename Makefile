# Every target bootstraps .venv on a fresh machine (Python >= 3.11 needed as $(PYTHON)).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## simulate the embedded default scenario
	$(BIN)/techbar run

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/ruff format --check sim tests benchmarks

test: lint  ## lint, then the whole test suite (unit, functional, validation)
	$(BIN)/pytest

bench: $(STAMP)  ## model cost per walk-in vs bare SimPy, and a replication-year of the default
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
