"""One trial, start to end, in whatever process runs it: load features, fit, score, measure, save.

``run_trial`` takes and returns plain JSON-able dicts, so the same function serves a local worker
process and, later, a Dask worker. It never raises for a failing candidate: the error is part of
the returned record.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import shutil
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["TrialSpec", "run_trial", "CHECKPOINT_DIR"]

CHECKPOINT_DIR = "checkpoint"  # under a trial's output_dir


@dataclass
class TrialSpec:
    """Everything a worker needs to run one trial, as plain values."""

    trial_id: str
    family: str
    params: dict[str, Any]
    data_dir: str             # feature-cache entry holding the prepared arrays
    output_dir: str           # where the fitted model is saved
    deadline: float           # time.time() by which fit must stop
    n_threads: int = 1
    seed: int = 0
    fidelity: float = 1.0     # fraction of training rows used
    refit: bool = False       # train on train + dev without early stopping; no dev metric
    max_epochs: int | None = None
    dollars_per_core_second: float = 0.0
    dollars_per_gpu_second: float = 0.0
    estimated_fit_s: float = 0.0
    family_source: dict[str, str] | None = None   # for families registered at run time
    extra: dict[str, Any] = field(default_factory=dict)
    epoch_log: str | None = None  # neural families append one JSON line per epoch here (models.epochs)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_trial(spec_json: dict[str, Any]) -> dict[str, Any]:
    """Run the trial described by ``spec_json``; return a TrialResult as a dict (status ok or failed)."""
    spec = TrialSpec(**spec_json)
    from ..models.metrics import primary_metric_name

    record: dict[str, Any] = {
        "trial_id": spec.trial_id, "family": spec.family, "params": spec.params, "status": "ok",
        "estimated_fit_s": spec.estimated_fit_s, "n_threads": spec.n_threads,
        "extra": {"fidelity": spec.fidelity, **spec.extra},
    }
    start = time.perf_counter()
    try:
        from ..models.registry import ensure_family

        ensure_family(spec.family, spec.family_source)
        _limit_threads(spec.n_threads)
        train, dev = _load(spec)
        record["metric_name"] = primary_metric_name(train.task)
        _fit_and_measure(spec, train, dev, record)
    except Exception as exc:  # a failing candidate is a result, recorded with its cause
        record["status"] = "failed"
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["extra"]["traceback"] = traceback.format_exc(limit=8)
        record["fit_s"] = record.get("fit_s") or time.perf_counter() - start
    record["peak_memory_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return record


def _fit_and_measure(spec: TrialSpec, train: Any, dev: Any, record: dict[str, Any]) -> None:
    from ..features.cache import load_raw_rows
    from ..models.base import Budget
    from ..models.metrics import dev_loss, primary_metric
    from ..models.neural.epochs import epoch_log
    from ..models.registry import get_family
    from .measure import measure_model

    model = get_family(spec.family)(**spec.params)
    # Neural trials keep a checkpoint per epoch beside their model: a rerun after a kill
    # (``lepton runs resume``) goes on from the last epoch.
    checkpoint = Path(spec.output_dir) / CHECKPOINT_DIR if model.neural else None
    budget = Budget(deadline=time.monotonic() + (spec.deadline - time.time()), max_epochs=spec.max_epochs,
                    n_threads=spec.n_threads, seed=spec.seed, checkpoint_dir=str(checkpoint) if checkpoint else None)
    start = time.perf_counter()
    with epoch_log(spec.epoch_log):
        model.fit(train, None if spec.refit else dev, budget=budget)
    record["fit_s"] = time.perf_counter() - start
    if not spec.refit:  # a refit has seen dev: its record keeps the dev metric of the trial it repeats
        output = model.predict_proba(dev.X) if train.task == "classification" else model.predict(dev.X)
        record["dev_metric"] = primary_metric(train.task, dev.y, output)
        record["extra"]["dev_loss"] = dev_loss(train.task, dev.y, output)
        _save_dev_output(spec, output)
    measured = measure_model(model, np.asarray(dev.X), save_to=Path(spec.output_dir),
                             rows=load_raw_rows(Path(spec.data_dir)))
    if checkpoint is not None:  # the trial's model is saved: its training state is no longer needed
        shutil.rmtree(checkpoint, ignore_errors=True)
    price = spec.dollars_per_core_second * spec.n_threads + (spec.dollars_per_gpu_second if _on_gpu(model) else 0.0)
    record.update(
        train_cost_usd=record["fit_s"] * price,
        latency_p50_ms=measured.latency_p50_ms, latency_p99_ms=measured.latency_p99_ms,
        rows_per_s=measured.rows_per_s, infer_cost_per_million_usd=1e6 / measured.rows_per_s * price,
        size_bytes=measured.size_bytes, **measured.breakdown(),
    )
    for key in ("n_trees_", "epochs_run_", "converged_"):
        if hasattr(model, key):
            record["extra"][key.rstrip("_")] = getattr(model, key)
    if hasattr(model, "history_"):
        record["extra"]["history"] = model.history_


def _save_dev_output(spec: TrialSpec, output: np.ndarray) -> None:
    """Keep the dev outputs of a full-fidelity trial for ensemble selection (engine.ensemble)."""
    from .ensemble import DEV_OUTPUTS

    if spec.fidelity < 1.0:
        return
    directory = Path(spec.output_dir).parent.parent / DEV_OUTPUTS
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / f"{spec.trial_id}.npy", np.asarray(output, dtype=np.float64), allow_pickle=False)


def _on_gpu(model: Any) -> bool:
    if not getattr(model, "neural", False):
        return False
    import torch

    return bool(torch.cuda.is_available())


def _load(spec: TrialSpec) -> tuple[Any, Any]:
    from ..features.cache import FeatureCache
    from ..models.registry import get_family

    data_dir = Path(spec.data_dir)
    prepared = FeatureCache(data_dir.parent).load(data_dir.name)
    if prepared is None:
        raise FileNotFoundError(f"prepared features missing at {data_dir}")
    train, dev = prepared.views[get_family(spec.family).view]
    if spec.refit:
        both = np.concatenate([np.asarray(train.X), np.asarray(dev.X)])
        return dataclasses.replace(train, X=both, y=np.concatenate([train.y, dev.y])), _in_memory(dev)
    if spec.fidelity < 1.0:
        return _subsample(train, spec.fidelity, spec.seed), _in_memory(dev)
    return _in_memory(train), _in_memory(dev)


def _in_memory(part: Any) -> Any:
    """A writable in-memory copy of a memory-mapped split (torch refuses read-only buffers)."""
    return dataclasses.replace(part, X=np.array(part.X))


def _subsample(train: Any, fraction: float, seed: int) -> Any:
    """The first ``fraction`` of a seeded permutation of the rows: nested across fidelities."""
    order = np.random.default_rng(seed).permutation(len(train.X))
    keep = np.sort(order[: max(2, int(round(fraction * len(order))))])
    return dataclasses.replace(train, X=np.asarray(train.X[keep]), y=train.y[keep])


def _limit_threads(n_threads: int) -> None:
    """Give this process exactly ``n_threads`` for torch (where it is imported), BLAS and OpenMP."""
    import sys

    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    if torch is not None:  # a family that imports torch later does so in its own fit, under OMP_NUM_THREADS
        torch.set_num_threads(n_threads)
    os.environ["OMP_NUM_THREADS"] = str(n_threads)
    threadpool_limits(limits=n_threads)
