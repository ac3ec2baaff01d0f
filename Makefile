# The README's two commands: `make demo` (the lecture's MNIST example) and `make test`.
# Each creates or refreshes a local .venv with what it needs; nothing else is assumed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

# Data: the read-only copies beside the project when they exist (developers, CI);
# otherwise netfit's own lookup (cache, then download) is used.
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)/mnist),)
export NETFIT_DATA_DIR ?= $(SHARED_DATA)
endif

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# One stamp per extra, refreshed when pyproject.toml changes.
$(VENV)/.installed-plot: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[plot]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@ $(VENV)/.installed-plot

demo: $(VENV)/.installed-plot
	$(BIN)/netfit data fetch mnist
	$(BIN)/netfit demo --out out/demo

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --doctest-modules netfit

bench: $(VENV)/.installed-plot
	$(BIN)/python benchmarks/bench_mlp.py --out benchmarks/RESULTS.md

clean:
	rm -rf $(VENV) out .pytest_cache
