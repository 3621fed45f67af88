# Every target installs what it needs into .venv first.
# torch is pinned to the CPU build that lies on this machine's disk; any other spec pulls a CUDA build.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH_SPEC := torch==2.13.0
STAMP := $(VENV)/.installed

BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

.PHONY: install demo test test-slow bench bench-bar bench-tabular bench-neural bench-text bench-compress bench-latency bench-serve bench-cluster bench-peers lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/lepton demo

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

# Every benchmark in benchmarks/ (about 1.5 hours; each target below runs one of them).
bench: bench-bar bench-tabular bench-neural bench-text bench-compress bench-latency bench-serve bench-cluster \
	bench-store bench-metric bench-dates bench-memory

# `lepton train --budget 10s` as a user runs it, on every public set and on sets made there, vs the best
# any system reached (BASELINES.md) and FLAML / AutoGluon at 10 s; wall from process start to exit.
bench-bar: $(STAMP)
	cd benchmarks && ../$(PY) bar.py

# lepton-ai vs plain LightGBM and scikit-learn baselines (peers not installed here are skipped, saying so).
bench-tabular: $(STAMP)
	$(PY) benchmarks/run.py

# CNN / LSTM / 1D-CNN vs tutorial-style PyTorch models, and the CNN's GFLOP/s vs this CPU's matmul ceiling.
bench-neural: $(STAMP)
	$(PY) benchmarks/neural.py

# The text families on rotten_tomatoes vs TF-IDF + logistic regression.
bench-text: $(STAMP)
	$(PY) benchmarks/text.py

# Eager fp32 vs bf16 / int8 / ONNX variants, and LightGBM's single-row fast path.
bench-compress: $(STAMP)
	$(PY) benchmarks/compress.py

# One-row latency a user times (DataFrame, record) vs the printed p50, default LightGBM and AutoGluon
# (AutoGluon when .venv-bench exists: make .venv-bench/.installed), and batch rows/s, per table.
bench-latency: $(STAMP)
	cd benchmarks && ../$(PY) latency.py

# `lepton serve` vs a plain per-request FastAPI endpoint at concurrency 1, 8, 64, on a table with categories.
bench-serve: $(STAMP)
	$(PY) benchmarks/serve_load.py --dataset ../shared/datasets/diamonds/train.csv --families linear,gbdt

# Trials/s of a search on a 2-worker loopback Dask cluster vs 1 worker (target >= 1.7x), metric vs a local run.
bench-cluster: $(STAMP)
	$(PY) benchmarks/cluster.py

# Two nodes writing one PostgreSQL run store at once, and a killed node's run resumed on another: lost and
# duplicated trials counted from the store (PostgreSQL and Redis from Debian's packages, on loopback).
bench-store: $(STAMP)
	$(PY) benchmarks/store.py

# F1 of the positive class on imbalanced tables made there: metric="f1" vs the default at the same budget.
bench-metric: $(STAMP)
	$(PY) benchmarks/metric.py

# Date columns read as calendar features vs the same column as a category: test metric and one record's preparation.
bench-dates: $(STAMP)
	$(PY) benchmarks/dates.py

# `lepton train --memory 1GB` on a generated 5 GB Parquet folder: peak PSS of the process tree vs the limit
# plus the libraries, and test R2 vs LightGBM on every row in memory (about 20 minutes, 6 GB of disk).
bench-memory: $(STAMP)
	$(PY) benchmarks/memory.py --size 5 --memory 1GB --budget 300

# The same with FLAML and AutoGluon, installed into their own venv (about 2 GB).
$(BENCH_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet $(TORCH_SPEC)
	$(BENCH_VENV)/bin/python -m pip install --quiet -e ".[bench]"
	touch $(BENCH_STAMP)

bench-peers: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python benchmarks/run.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(BENCH_VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
