"""``SinglePointTechnique``: the engine that searches candidates on this one node.

It knows the node (cores, memory, GPU) and its price, prepares the data once, runs candidates
cheapest first under the budget, measures each one, and records every trial, failed ones included.
Trials run one after another in this process with all the node's threads; a failing candidate is
recorded with its error and the search goes on.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..config import DEFAULT_PRICE_PER_CORE_HOUR, DEFAULT_PRICE_PER_GPU_HOUR
from ..data.coerce import to_input
from ..data.dataset import Dataset
from ..data.load import DataSource, build_dataset
from ..data.split import split_dataset
from ..errors import ConfigError, NotFittedError
from ..features.tabular import TabularPreparer
from ..models.base import Budget, Prepared
from ..models.metrics import primary_metric, primary_metric_name
from ..models.registry import resolve_families
from ..search.budget import SearchBudget, parse_budget
from ..search.frontier import select_trial
from ..search.plan import Candidate, plan_candidates
from ..search.trial import TrialResult
from .callbacks import Callback
from .measure import measure_model
from .resources import detect_resources
from .result import SearchResult, prepare

__all__ = ["SinglePointTechnique", "DEV_FRACTION"]

# When no dev set is given, this share of the training rows is held out for early stopping and ranking.
DEV_FRACTION = 0.2


class SinglePointTechnique:
    """The node engine: search candidates on this machine within a budget in seconds or dollars.

    ``cores`` defaults to the cores this process may use; ``price_per_core_hour`` and
    ``price_per_gpu_hour`` turn seconds into dollars (defaults: cloud on-demand list prices,
    see ``lepton_ai.config``).
    """

    def __init__(
        self,
        cores: int | None = None,
        *,
        price_per_core_hour: float = DEFAULT_PRICE_PER_CORE_HOUR,
        price_per_gpu_hour: float = DEFAULT_PRICE_PER_GPU_HOUR,
        budget: str | float = "60s",
        families: str | Sequence[str] | None = None,
        seed: int = 0,
    ) -> None:
        resources = detect_resources()
        if cores is not None and (not isinstance(cores, int) or cores < 1):
            raise ConfigError(f"cores must be an int >= 1. Got {cores!r}.")
        if price_per_core_hour < 0 or price_per_gpu_hour < 0:
            raise ConfigError("prices must be >= 0.")
        self.resources = resources
        self.cores = min(cores, resources.cores) if cores else resources.cores
        self.price_per_core_hour = float(price_per_core_hour)
        self.price_per_gpu_hour = float(price_per_gpu_hour)
        self.budget = parse_budget(budget)
        self.families = resolve_families(families)  # type: ignore[arg-type]
        self.seed = seed
        self.result_: SearchResult | None = None

    @property
    def dollars_per_second(self) -> float:
        """What this node costs per wall second with the cores (and GPUs) a search uses."""
        gpu = self.resources.gpus * self.price_per_gpu_hour
        return (self.cores * self.price_per_core_hour + gpu) / 3600.0

    # ---- the simple face: fit / predict ----------------------------------------------------
    def fit(self, train: DataSource, dev: DataSource | None = None) -> SinglePointTechnique:
        """Search on this node with the engine's defaults; keeps the result in ``result_``."""
        self.result_ = self.search(train, dev)
        return self

    def predict(self, data: DataSource) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` (values for regression) of the best-metric model."""
        if self.result_ is None:
            raise NotFittedError("SinglePointTechnique.predict was called before fit.")
        chosen = select_trial(self.result_.trials, "accuracy")
        return self.result_.output(to_input(data, self.result_.schema), chosen.trial_id)

    # ---- the search ----------------------------------------------------------------------
    def search(
        self,
        train: DataSource,
        dev: DataSource | None = None,
        *,
        budget: str | float | SearchBudget | None = None,
        families: str | Sequence[str] | None = None,
        epochs: int | None = None,
        seed: int | None = None,
        label: str | None = None,
        task: str | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> SearchResult:
        """Prepare ``train`` once, then fit and measure candidates until the plan or the budget ends."""
        started = time.monotonic()
        seed = self.seed if seed is None else seed
        names = resolve_families(families) if families is not None else self.families  # type: ignore[arg-type]
        budget_s = parse_budget(budget if budget is not None else self.budget).to_seconds(self.dollars_per_second)
        if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
            raise ConfigError(f"epochs must be an int >= 1. Got {epochs!r}.")
        train_ds, dev_ds = self._datasets(train, dev, seed, label, task)
        preparer = TabularPreparer(train_ds.schema).fit(train_ds)
        views: dict[str, tuple[Prepared, Prepared]] = {}
        for view in ("dense", "codes"):
            views[view] = (prepare(preparer, train_ds, view), prepare(preparer, dev_ds, view))
        n_rows, n_features = views["dense"][0].X.shape
        plan = plan_candidates(names, n_rows, n_features, epochs)
        deadline = started + budget_s
        for cb in callbacks:
            cb.on_search_start(len(plan), budget_s)
        trials: list[TrialResult] = []
        models: dict[str, Any] = {}
        with _thread_limit(self.cores):
            for i, candidate in enumerate(plan):
                trial_id = f"t{i:03d}"
                remaining = deadline - time.monotonic()
                if any(t.ok for t in trials) and remaining < min(candidate.estimated_fit_s, 1.0) + 0.5:
                    trials.append(self._skipped(trial_id, candidate, remaining, train_ds.task))
                    continue
                for cb in callbacks:
                    cb.on_trial_start(trial_id, candidate)
                budget_for_trial = Budget(deadline=max(deadline - 0.5, time.monotonic() + 0.1),
                                          max_epochs=epochs, n_threads=self.cores, seed=seed)
                trial, model = self._run_trial(trial_id, candidate, views, budget_for_trial)
                trials.append(trial)
                if model is not None:
                    models[trial_id] = model
                if any(bool(cb.on_trial_end(trial)) for cb in callbacks):
                    break
        for cb in callbacks:
            cb.on_search_end(trials)
        return SearchResult(
            schema=train_ds.schema, preparer=preparer, trials=trials, models=models, seed=seed,
            n_threads=self.cores, budget_s=budget_s, wall_s=time.monotonic() - started,
            price_per_core_hour=self.price_per_core_hour, price_per_gpu_hour=self.price_per_gpu_hour,
            extra={"n_train": len(train_ds), "n_dev": len(dev_ds), "cleaning": train_ds.cleaning.to_json(),
                   "source": train_ds.source},
        )

    def _datasets(self, train: DataSource, dev: DataSource | None, seed: int, label: str | None,
                  task: str | None) -> tuple[Dataset, Dataset]:
        train_ds = build_dataset(train, label, task=task)
        if dev is None:
            if len(train_ds) < 10:
                return train_ds, train_ds
            part_train, part_dev = split_dataset(train_ds, (1 - DEV_FRACTION, DEV_FRACTION), seed)
            return part_train, part_dev
        dev_ds = to_input(dev, train_ds.schema)
        if dev_ds.y is None:
            raise ConfigError(f"{dev_ds.source}: the dev set has no label column {train_ds.schema.label!r}.")
        return train_ds, dev_ds

    def _run_trial(self, trial_id: str, candidate: Candidate, views: dict[str, tuple[Prepared, Prepared]],
                   budget: Budget) -> tuple[TrialResult, Any]:
        model = candidate.build()
        train, dev = views[model.view]
        metric_name = primary_metric_name(train.task)
        record = TrialResult(trial_id=trial_id, family=candidate.family, params=dict(candidate.params),
                             metric_name=metric_name, estimated_fit_s=candidate.estimated_fit_s,
                             n_threads=self.cores)
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                model.fit(train, dev, budget=budget)
            record.fit_s = time.perf_counter() - start
            output = model.predict_proba(dev.X) if train.task == "classification" else model.predict(dev.X)
            assert dev.y is not None
            record.dev_metric = primary_metric(train.task, dev.y, output)
            measured = measure_model(model, dev.X)
        except Exception as exc:  # a failing candidate is a result, not the end of the search
            return self._failed(record, exc, start), None
        record.train_cost_usd = record.fit_s * self.dollars_per_second
        record.latency_p50_ms = measured.latency_p50_ms
        record.latency_p99_ms = measured.latency_p99_ms
        record.rows_per_s = measured.rows_per_s
        record.infer_cost_per_million_usd = 1e6 / measured.rows_per_s * self.dollars_per_second
        record.size_bytes = measured.size_bytes
        for key in ("n_trees_", "epochs_run_", "converged_"):
            if hasattr(model, key):
                record.extra[key.rstrip("_")] = getattr(model, key)
        if hasattr(model, "history_"):
            record.extra["history"] = model.history_
        return record, model

    @staticmethod
    def _failed(record: TrialResult, exc: BaseException, start: float) -> TrialResult:
        record.status = "failed"
        record.error = f"{type(exc).__name__}: {exc}"
        record.fit_s = time.perf_counter() - start
        return record

    @staticmethod
    def _skipped(trial_id: str, candidate: Candidate, remaining: float, task: str) -> TrialResult:
        return TrialResult(trial_id=trial_id, family=candidate.family, params=dict(candidate.params),
                           status="skipped", metric_name=primary_metric_name(task),
                           error=f"budget: {max(remaining, 0):.1f}s left, estimated {candidate.estimated_fit_s:.1f}s",
                           estimated_fit_s=candidate.estimated_fit_s)


@contextmanager
def _thread_limit(n_threads: int) -> Any:
    """Run BLAS/OpenMP and torch with ``n_threads`` threads, restoring the previous counts after."""
    import torch
    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        with threadpool_limits(limits=n_threads):
            yield
    finally:
        torch.set_num_threads(previous)
