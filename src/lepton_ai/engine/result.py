"""What a search leaves behind: the schema, the fitted preparation, every trial and the fitted models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data.dataset import Dataset, Schema
from ..errors import ConfigError
from ..features.labels import encode_labels
from ..features.tabular import TabularPreparer
from ..models.base import ModelFamily, Prepared
from ..search.trial import TrialResult

__all__ = ["SearchResult", "prepare"]


@dataclass
class SearchResult:
    """The outcome of one search; ``models`` holds the fitted families by trial id."""

    schema: Schema
    preparer: TabularPreparer
    trials: list[TrialResult]
    models: dict[str, ModelFamily]
    seed: int
    n_threads: int
    budget_s: float
    wall_s: float
    price_per_core_hour: float
    price_per_gpu_hour: float
    extra: dict[str, Any] = field(default_factory=dict)

    def trial(self, trial_id: str) -> TrialResult:
        for t in self.trials:
            if t.trial_id == trial_id:
                return t
        raise ConfigError(f"unknown trial {trial_id!r}. Trials: {', '.join(t.trial_id for t in self.trials)}.")

    def output(self, data: Dataset, trial_id: str) -> np.ndarray:
        """Probabilities ``(n, n_classes)`` or values ``(n,)`` of the model of ``trial_id`` on ``data``."""
        model = self.models.get(trial_id)
        if model is None:
            kept = ", ".join(self.models)
            raise ConfigError(f"the model of trial {trial_id!r} was not kept; kept models: {kept}.")
        X = self.preparer.transform(data.X, model.view, source=data.source)
        return model.predict_proba(X) if self.schema.task == "classification" else model.predict(X)


def prepare(preparer: TabularPreparer, data: Dataset, view: str, *, labelled: bool = True) -> Prepared:
    """Prepared features of ``data`` for a family of ``view``; rows with unknown labels are dropped."""
    X = preparer.transform(data.X, view, source=data.source)  # type: ignore[arg-type]
    schema = preparer.schema
    y = None
    if labelled and data.y is not None:
        y = encode_labels(data.y, schema)
        known = y >= 0 if schema.task == "classification" else ~np.isnan(y)
        if not known.all():
            X, y = X[known], y[known]
    return Prepared(X=X, y=y, task=schema.task, n_classes=schema.n_classes,
                    categorical=preparer.categorical_indices(view))  # type: ignore[arg-type]
