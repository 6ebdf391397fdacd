# Two entry points for a fresh clone: `make demo` and `make test`. Both bootstrap .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck chromium bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ivcrush --demo

lint: $(STAMP)
	$(BIN)/ruff check ivcrush_tui tests benchmarks
	$(BIN)/ruff format --check ivcrush_tui tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Debian's Chromium for the browser test of `ivcrush web` (tests/integration/test_web.py):
# installed with apt when missing (as root, as on CI), nothing to do when present.
chromium:
	bash scripts/ensure-chromium.sh

test: lint typecheck chromium
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_analysis.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
