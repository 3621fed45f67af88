"""One trial, start to end, in whatever process runs it: load features, fit, score, measure, save.

``run_trial`` takes a :class:`TrialSpec` and returns a ``TrialResult``, both as JSON, so the same
function serves a local worker process and, later, a Dask worker. It never raises for a failing
candidate: the error is part of the returned record.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import shutil
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TrialError
from ..search.trial import TrialResult

__all__ = ["TrialSpec", "run_trial", "CHECKPOINT_DIR"]

CHECKPOINT_DIR = "checkpoint"  # under a trial's output_dir
_MIN_LENGTH = 2  # a fit cut at its deadline after this many rounds (trees, epochs) or fewer learned nothing


@dataclass
class TrialSpec:
    """Everything a worker needs to run one trial, as plain values."""

    trial_id: str
    index: int                # TrialResult.index of the record it returns
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
    epoch_log: str | None = None  # neural families append one JSON line per epoch here (models.neural.epochs)
    deterministic: bool = False   # no fit deadline: the fit stops at its lengths (SearchConfig.deterministic)
    folds: int = 0                # rank on k-fold out-of-fold predictions over train + dev (engine.folds)
    stream_dir: str | None = None  # a refit on every row of a table bigger than memory (features.streamed)
    memory_bytes: int | None = None  # the most memory of its own it may hold; None: the executor's share
    class_weight: str | None = None  # "balanced": the fit weighs every class the same; scores keep the rows' own

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def started(self) -> TrialResult:
        """The record of this trial before it runs: what it is, not yet how it went."""
        return TrialResult(trial_id=self.trial_id, index=self.index, family=self.family, params=self.params,
                           estimated_fit_s=self.estimated_fit_s, n_threads=self.n_threads,
                           rung_fraction=self.fidelity, folds=0 if self.refit else self.folds,
                           class_weight=self.class_weight)


def run_trial(spec_json: dict[str, Any]) -> dict[str, Any]:
    """Run the trial described by ``spec_json``; return its ``TrialResult.to_json()`` (status ok or failed)."""
    spec = TrialSpec(**spec_json)
    from ..models.metrics import primary_metric_name

    trial = spec.started()
    start = time.perf_counter()
    try:
        from ..models.registry import ensure_family

        ensure_family(spec.family, spec.family_source)
        _limit_threads(spec.n_threads)
        train, dev = _load(spec)
        trial.metric_name = primary_metric_name(train.task)
        _fit_and_measure(spec, train, dev, trial)
    except Exception as exc:  # a failing candidate is a result, recorded with its cause
        trial.status = "failed"
        trial.error = f"{type(exc).__name__}: {exc}"
        trial.traceback = traceback.format_exc(limit=8)
        trial.fit_s = trial.fit_s or time.perf_counter() - start
    trial.peak_memory_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return trial.to_json()


def _fit_and_measure(spec: TrialSpec, train: Any, dev: Any, trial: TrialResult) -> None:
    from ..features.cache import load_raw_rows
    from ..models.base import Budget
    from ..models.metrics import dev_loss, primary_metric
    from ..models.neural.epochs import EpochFile
    from ..models.registry import get_family
    from .measure import measure_model

    model = get_family(spec.family)(**spec.params)
    # Neural trials keep a checkpoint per epoch beside their model: a rerun after a kill
    # (``lepton runs resume``) goes on from the last epoch.
    checkpoint = Path(spec.output_dir) / CHECKPOINT_DIR if model.neural else None
    deadline = None if spec.deterministic else time.monotonic() + (spec.deadline - time.time())
    budget = Budget(deadline=deadline, deterministic=spec.deterministic, max_epochs=spec.max_epochs,
                    n_threads=spec.n_threads, seed=spec.seed, checkpoint_dir=str(checkpoint) if checkpoint else None,
                    on_epoch=EpochFile(spec.epoch_log) if spec.epoch_log else None)
    start = time.perf_counter()
    balanced = spec.class_weight == "balanced"
    if spec.class_weight not in (None, "balanced"):
        raise TrialError(f"class_weight must be None or 'balanced'. Got {spec.class_weight!r}.")
    if balanced and train.task != "classification":
        raise TrialError("class_weight='balanced' weighs classes; this task is regression.")
    if spec.folds and not spec.refit:
        from .folds import fit_out_of_fold

        oof = fit_out_of_fold(spec.family, spec.params, train, dev, spec.folds, budget, balanced=balanced)
        model, output, y_rank, w_rank, report = oof.model, oof.output, oof.y, oof.weight, oof.report
        trial.fold_lengths = oof.fold_lengths
    else:
        from .folds import early_stopping_split

        fit_on, stop_on = (train, None) if spec.refit else early_stopping_split(spec.family, train, dev, spec.seed)
        model.fit(fit_on.balanced() if balanced else fit_on, stop_on, budget=budget)
        report = model.fit_report()
        y_rank, w_rank = dev.y, dev.weight
        if not spec.refit:  # a refit has seen dev: its record keeps the dev metric of the trial it repeats
            output = model.output(dev.X)
    trial.fit_s = fit_s = time.perf_counter() - start
    if spec.stream_dir:
        trial.extra["fit_rows"] = len(train.X)
    if not spec.refit:
        _check_finite(output, spec.family)
        trial.dev_metric = primary_metric(train.task, y_rank, output, w_rank)
        trial.dev_loss = dev_loss(train.task, y_rank, output, w_rank)
        if report.cut_at_deadline:
            _check_learned(trial, train.task, y_rank, w_rank, spec.family, report.length)
        _save_dev_output(spec, output)
    measured = measure_model(model, np.asarray(dev.X), save_to=Path(spec.output_dir),
                             rows=load_raw_rows(Path(spec.data_dir)))
    if checkpoint is not None:  # the trial's model is saved: its training state is no longer needed
        shutil.rmtree(checkpoint, ignore_errors=True)
    price = spec.dollars_per_core_second * spec.n_threads + (spec.dollars_per_gpu_second if _on_gpu(model) else 0.0)
    trial.train_cost_usd = fit_s * price
    trial.latency_p50_ms, trial.latency_p99_ms = measured.latency_p50_ms, measured.latency_p99_ms
    trial.rows_per_s, trial.size_bytes = measured.rows_per_s, measured.size_bytes
    trial.infer_cost_per_million_usd = 1e6 / measured.rows_per_s * price
    for key, value in measured.breakdown().items():  # the model-only and record figures beside them
        setattr(trial, key, value)
    trial.fit_length, trial.converged, trial.history = report.length, report.converged, list(report.history)


def _check_finite(output: np.ndarray, family: str) -> None:
    """A model whose dev outputs hold NaN or infinity must never be ranked or chosen: the trial fails."""
    values = np.asarray(output, dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        rows = int(bad.reshape(len(values), -1).any(axis=1).sum())
        raise TrialError(f"{family}: the model's outputs on dev are not finite (NaN or infinity in {rows} of "
                         f"{len(values)} rows); a model that outputs them cannot be scored or chosen.")


def _check_learned(trial: TrialResult, task: str, y: np.ndarray, weight: np.ndarray | None, family: str,
                   length: int | None) -> None:
    """A fit its deadline cut before it beat a constant prediction (the majority class, the mean),
    or within its first ``_MIN_LENGTH`` rounds, has learned nothing the budget paid for: the trial
    fails with that cause instead of taking a place on the leaderboard."""
    assert trial.dev_metric is not None
    values = np.asarray(y)
    if task == "classification":
        counts = np.bincount(values.astype(np.int64), weights=weight)
        constant = float(counts.max() / counts.sum())
    else:
        constant = 0.0
    if trial.dev_metric <= constant + 1e-9 or (length is not None and length <= _MIN_LENGTH):
        what = "the majority class's" if task == "classification" else "a constant's"
        raise TrialError(f"{family}: cut at its deadline after {length} rounds, before it learned anything "
                         f"(dev {trial.metric_name} {trial.dev_metric:.4f}, {what} {constant:.4f}); give it more time")


def _save_dev_output(spec: TrialSpec, output: np.ndarray) -> None:
    """Keep a trial's dev outputs: the search scores them by its metric, and ensembles the
    full-fidelity ones (engine.ensemble)."""
    from .ensemble import DEV_OUTPUTS

    directory = Path(spec.output_dir).parent.parent / DEV_OUTPUTS
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / f"{spec.trial_id}.npy", np.asarray(output, dtype=np.float64), allow_pickle=False)


def _on_gpu(model: Any) -> bool:
    if not model.neural:
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
    if spec.refit and spec.stream_dir:
        from ..features.streamed import load_streamed

        return load_streamed(spec.stream_dir, train), _in_memory(dev)
    if spec.refit:
        from .folds import joined

        return joined(train, dev), _in_memory(dev)
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
    return train.take(keep)


def _limit_threads(n_threads: int) -> None:
    """Give this process exactly ``n_threads`` for torch (where it is imported), BLAS and OpenMP."""
    import sys

    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    if torch is not None:  # a family that imports torch later does so in its own fit, under OMP_NUM_THREADS
        torch.set_num_threads(n_threads)
    os.environ["OMP_NUM_THREADS"] = str(n_threads)
    threadpool_limits(limits=n_threads)
