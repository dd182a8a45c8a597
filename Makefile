# Every target bootstraps .venv on a fresh machine (Python >= 3.11 needed as $(PYTHON)).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run app test lint bench results clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## simulate the embedded default scenario
	$(BIN)/techbar run

app: $(STAMP)  ## serve the what-if page on http://127.0.0.1:8501 (Ctrl-C to stop)
	$(BIN)/techbar app

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks
	$(BIN)/ruff format --check sim tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint  ## lint, then the whole test suite (unit, functional, validation, backtest, notebooks)
	$(BIN)/pytest --nbmake tests notebooks

bench: $(STAMP)  ## model cost per walk-in vs bare SimPy, a replication-year of the default, a probabilistic analysis and its Dask scaling, …
	$(BIN)/python benchmarks/bench.py

results: $(STAMP)  ## regenerate the canonical experiments in results/, with their reports
	$(BIN)/techbar run --out results/default --reps 10 --quiet
	$(BIN)/techbar report results/default
	$(BIN)/techbar backtest --out results/backtest --quiet || [ $$? -eq 1 ]  # 1: a figure missed, reported
	$(BIN)/techbar report results/backtest
	$(BIN)/techbar sweep experiments/staffing.toml --out results/staffing --quiet
	$(BIN)/techbar report results/staffing
	$(BIN)/techbar size --target "service_level>=0.8" --target "utilisation<=0.85" \
		--out results/sizing --quiet
	$(BIN)/techbar report results/sizing

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
