"""What a search leaves behind: the schema, the fitted preparation, every trial and the fitted models."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data.coerce import to_input
from ..data.dataset import Dataset, Schema
from ..errors import ConfigError
from ..features.labels import decode_labels
from ..features.tabular import TabularPreparer
from ..models.base import ModelFamily
from ..models.derived.ensemble import EnsembleFamily
from ..models.metrics import predicted_labels
from ..models.registry import load_family
from ..search.budget import BudgetPlan
from ..search.trial import TrialResult

__all__ = ["SearchResult", "ModelCatalog", "model_output", "decode_output", "predict_with"]


class ModelCatalog(Mapping[str, ModelFamily]):
    """Fitted models by trial id, loaded from the run directory on first use (a search may leave
    hundreds; only those looked at are read)."""

    def __init__(self, root: Path, families: dict[str, str]) -> None:
        self.root = Path(root)
        self.families = dict(families)
        self._loaded: dict[str, ModelFamily] = {}

    def __getitem__(self, trial_id: str) -> ModelFamily:
        if trial_id not in self.families:
            raise KeyError(trial_id)
        if trial_id not in self._loaded:
            self._loaded[trial_id] = load_family(self.root / trial_id, self.families[trial_id])
        return self._loaded[trial_id]

    def __contains__(self, trial_id: object) -> bool:  # without loading the model
        return trial_id in self.families

    def __iter__(self) -> Iterator[str]:
        return iter(self.families)

    def __len__(self) -> int:
        return len(self.families)

    def add(self, trial_id: str, model: ModelFamily) -> None:
        """Hold a model made after the search (a compressed variant), saved in ``root/trial_id``."""
        self.families[trial_id] = model.name
        self._loaded[trial_id] = model


@dataclass
class SearchResult:
    """The outcome of one search; ``models`` holds the fitted families by trial id.

    ``budget_s`` is the engine's part of the budget; ``plan`` how the whole budget was carved
    (``None`` for a loaded model): the caller compresses within ``plan.compress_s``.
    """

    schema: Schema
    preparer: TabularPreparer
    trials: list[TrialResult]
    models: Mapping[str, ModelFamily]
    seed: int
    n_threads: int
    budget_s: float
    wall_s: float
    price_per_core_hour: float
    price_per_gpu_hour: float
    extra: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    plan: BudgetPlan | None = None

    def trial(self, trial_id: str) -> TrialResult:
        for t in self.trials:
            if t.trial_id == trial_id:
                return t
        raise ConfigError(f"unknown trial {trial_id!r}. Trials: {', '.join(t.trial_id for t in self.trials)}.")

    def add_candidate(self, trial: TrialResult, model: ModelFamily) -> None:
        """Add a candidate made after the search (a compressed variant): its trial joins ``trials``
        (and so the frontier and selection) and its model joins ``models``; an earlier one of the same
        id is replaced."""
        self.trials = [t for t in self.trials if t.trial_id != trial.trial_id] + [trial]
        if isinstance(self.models, ModelCatalog):
            self.models.add(trial.trial_id, model)
        else:
            self.models = {**self.models, trial.trial_id: model}

    def model_dir(self, trial_id: str) -> Path | None:
        """Where the model of ``trial_id`` is kept on disk during a run (``None`` for a loaded model)."""
        return self.models.root / trial_id if isinstance(self.models, ModelCatalog) else None

    def output(self, data: Dataset, trial_id: str, *, unseen: dict[str, int] | None = None) -> np.ndarray:
        """Probabilities ``(n, n_classes)`` or values ``(n,)`` of the model of ``trial_id`` on ``data``.

        ``unseen``, when given, receives per categorical column how many of the rows' values were
        categories not seen in training (see :meth:`TabularPreparer.transform`), counted once
        however many ensemble members read the rows.
        """
        if trial_id not in self.models:
            kept = ", ".join(self.models)
            raise ConfigError(f"the model of trial {trial_id!r} was not kept; kept models: {kept}.")
        model = self.models[trial_id]
        if isinstance(model, EnsembleFamily):
            outputs = []
            for member in model.members:
                outputs.append(self.output(data, member, unseen=unseen))
                if unseen is not None and self.models[member].view != "text":  # the text view counts nothing
                    unseen = None
            return model.combine(outputs)
        return model_output(model, self.preparer, data, unseen=unseen)

    def predict(self, data: Any, trial_id: str, *, unseen: dict[str, int] | None = None) -> np.ndarray:
        """Labels (classification) or values (regression) of the model of ``trial_id`` on raw ``data``
        (anything ``to_input`` reads: a DataFrame, records, arrays, a file...); ``unseen``: see
        :meth:`output`."""
        return decode_output(self.output(to_input(data, self.schema), trial_id, unseen=unseen), self.schema,
                             self.trial(trial_id).threshold)


def model_output(model: ModelFamily, preparer: TabularPreparer, data: Dataset, *,
                 unseen: dict[str, int] | None = None) -> np.ndarray:
    """Probabilities ``(n, n_classes)`` or values ``(n,)`` of one fitted model on ``data``: the
    preparer's inference plan makes the model's view of the rows, the model predicts."""
    X = preparer.transform(data.X, model.view, source=data.source, unseen=unseen)
    return model.output(X)


def decode_output(output: np.ndarray, schema: Schema, threshold: float | None = None) -> np.ndarray:
    """What ``predict`` returns for model outputs: the class labels of the highest probabilities (of
    two classes, with a ``threshold``: the second where its probability reaches it), or the values
    of a regression."""
    if schema.task != "classification":
        return output
    return decode_labels(predicted_labels(output, threshold), schema)


def predict_with(model: ModelFamily, preparer: TabularPreparer, data: Any) -> np.ndarray:
    """``LeptonModel.predict`` for one fitted model: raw ``data`` → input rows → plan → model →
    decoded labels. The measurement (engine/measure.py) times this, so the latency a trial records
    is the one a caller of ``predict`` gets."""
    schema = preparer.schema
    return decode_output(model_output(model, preparer, to_input(data, schema)), schema)
