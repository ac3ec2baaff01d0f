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

.PHONY: demo test bench clean serve notebooks

# The local environment. A .venv that is not one this checkout can use is dealt with first, never with a
# bare "[Errno 17] File exists": a symbolic link (e.g. into another checkout, dangling or not) is replaced
# by a real environment; a venv whose Python is gone (moved folder, removed Python) is rebuilt in place;
# anything else named .venv is left alone with the command that moves it away.
# Without a working environment, the venv and every stamp below are out of date, whatever their dates say.
VENV_WORKS := $(shell $(BIN)/python -c "" >/dev/null 2>&1 && echo yes)
ifneq ($(VENV_WORKS),yes)
$(BIN)/python $(VENV)/.installed-plot $(VENV)/.installed-dev $(VENV)/.installed-bench $(VENV)/.installed-serve \
  $(VENV)/.installed-notebook: venv-missing
endif
.PHONY: venv-missing
venv-missing:

$(BIN)/python:
	@if [ -L $(VENV) ]; then \
	  echo "make: $(VENV) is a symbolic link to $$(readlink $(VENV)), not this checkout's environment; replacing it with a local one."; \
	  rm -f $(VENV); \
	elif [ -e $(VENV) ] && [ ! -f $(VENV)/pyvenv.cfg ]; then \
	  echo "make: $(VENV) exists but is not a Python virtual environment; move it away (mv $(VENV) $(VENV).old) and run make again." >&2; \
	  exit 1; \
	elif [ -e $(VENV) ]; then \
	  echo "make: $(VENV) has no working $(BIN)/python (made by a Python that is gone?); rebuilding it."; \
	fi
	$(PYTHON) -m venv --clear $(VENV)

# One stamp per extra, refreshed when pyproject.toml changes. --no-compile: Python writes the
# byte-code of the modules the demo imports on first use, not of every module of matplotlib
# and fontTools up front (~35 MB of .pyc; benchmarks/RESULTS.md measures the demo's env on disk).
# The envs that train take `threads` (threadpoolctl, 0.1 MB): fit then uses every core for large steps.
$(VENV)/.installed-plot: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -e ".[plot,threads]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@ $(VENV)/.installed-plot $(VENV)/.installed-bench $(VENV)/.installed-serve $(VENV)/.installed-notebook

# The benchmarks time netfit with its optional compiled loop (netfit[fast], which brings threads) and without it.
$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[plot,fast]"
	touch $@

$(VENV)/.installed-serve: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -e ".[serve,plot,threads]"
	touch $@

# The playground in a browser (docs/serve.md): prints http://127.0.0.1:8765/?token=..., the lecture's
# MLP on MNIST ready to train. SERVE_ARGS passes options, e.g. SERVE_ARGS="--port 0 --data zip-esl --model net1".
SERVE_ARGS ?=
serve: $(VENV)/.installed-serve
	$(BIN)/netfit data fetch mnist
	$(BIN)/netfit serve $(SERVE_ARGS)

# The lecture as notebooks (examples/*.ipynb, docs/notebook.md) in JupyterLab. The ZIP-code notebook fits
# Net-1 by L-BFGS (SciPy) beside scikit-learn's LogisticRegression: hence the sklearn extra. As root (a
# container), JupyterLab needs --allow-root, which the target then passes.
$(VENV)/.installed-notebook: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile \
	  -e ".[notebook,plot,threads,sklearn]" jupyterlab
	touch $@

notebooks: $(VENV)/.installed-notebook
	$(BIN)/netfit data fetch mnist
	@$(BIN)/netfit data fetch zip || echo "make: the ZIP digits are missing (above: why and the fix); the zip_code and lecun1989 notebooks need them, the other two run without."
	$(BIN)/jupyter lab examples/ $(if $(filter 0,$(shell id -u)),--allow-root)

demo: $(VENV)/.installed-plot
	$(BIN)/netfit data fetch mnist
	$(BIN)/netfit demo --out out/demo

# The dev env has numba, so the suite runs netfit[fast]'s compiled loops; the second line runs
# the tests of the code they replace with them switched off, what `pip install netfit` runs.
NUMPY_PATH_TESTS := tests/test_layers.py tests/test_conv.py tests/test_pooling.py tests/test_activations.py \
                    tests/test_optimizers.py tests/test_gradcheck.py tests/test_properties.py tests/test_model.py \
                    tests/test_determinism.py tests/test_adaptive.py tests/test_standardization.py \
                    tests/test_parallel.py tests/test_replicas.py tests/test_conv_pool.py tests/test_inference_threads.py

# The whole suite runs last, so that its summary (and the line naming skipped browser tests) ends the output.
test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest --doctest-modules netfit
	NETFIT_COMPILED=0 $(BIN)/python -m pytest $(NUMPY_PATH_TESTS)
	$(BIN)/python -m pytest tests

# Benchmarks (benchmarks/README.md). `make bench` times netfit alone (a few minutes) and writes
# benchmarks/RESULTS.md; `make bench PEERS=1` (or `make bench-peers`) first builds
# benchmarks/.venv-peers (CPU torch 2.13, Keras 3, JAX, scikit-learn, netfit editable) and
# runs every peer interleaved with netfit (~10 min). OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE,
# which some machines set for older OpenBLAS builds and which slow current numpy, are unset
# for the benchmark command alone (all sides alike; their values go into the results).
# Knobs: REPEATS, CNN_STEPS (CNN steps timed and extrapolated; 0 = the whole epoch),
# BENCH_ARGS (more benchmarks/bench.py options, e.g. --skip cnn memory, --blas-threads 1).
PEERS_VENV := benchmarks/.venv-peers
REPEATS    ?= 3
CNN_STEPS  ?= 100
BENCH_ARGS ?=
.PHONY: bench-peers bench-profile bench-ops bench-small-steps

bench: $(VENV)/.installed-bench $(if $(PEERS),$(PEERS_VENV)/.installed)
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
	  NETFIT_BENCH_OPENBLAS_WAS="OPENBLAS_CORETYPE=$${OPENBLAS_CORETYPE-(unset)} OPENBLAS_L2_SIZE=$${OPENBLAS_L2_SIZE-(unset)}" \
	  $(BIN)/python benchmarks/bench.py --repeats $(REPEATS) --cnn-steps $(CNN_STEPS) \
	  $(if $(PEERS),--peers all --peers-python $(PEERS_VENV)/bin/python) \
	  --command "make bench$(if $(PEERS), PEERS=1) REPEATS=$(REPEATS) CNN_STEPS=$(CNN_STEPS)$(if $(BENCH_ARGS), BENCH_ARGS='$(BENCH_ARGS)')" \
	  --out benchmarks/RESULTS.md $(BENCH_ARGS)

bench-peers:
	$(MAKE) bench PEERS=1

# Where each row's time goes, layer by layer and pass by pass, on one thread: benchmarks/RESULTS-profile.md.
bench-profile: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/bench_profile.py

# A Dense written with netfit.ops (a layer of your own) against the built-in Dense: epochs of the lecture MLP,
# the tape's cost per op, one layer's step, float64 gradients: benchmarks/RESULTS-ops.md.
bench-ops: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/bench_ops.py

# The lecture MLP's epoch on one BLAS thread and on BLAS's own, by batch size, on the machine as it is and beside
# one process spinning on the CPU: where the second thread pays (netfit.config.SMALL_PRODUCTS_STEP_FLOPS) and what
# it costs on a shared machine: benchmarks/RESULTS-small-steps.md.
bench-small-steps: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/bench_small_steps.py --busy 1

# torch is pinned to its +cpu wheel (requirements-peers.txt); check-peers fails on a CUDA build.
$(PEERS_VENV)/.installed: benchmarks/requirements-peers.txt pyproject.toml
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
	  -r benchmarks/requirements-peers.txt -e .
	$(PEERS_VENV)/bin/python benchmarks/envinfo.py check-peers
	touch $@

clean:
	rm -rf $(VENV) out .pytest_cache
