"""One trial ranked on k-fold out-of-fold predictions (``search.validation`` says when and why),
and the rule both kinds of trial keep: early stopping uses rows that do not rank the model.

The worker's prepared train and dev splits are joined (the whole training data, in that order),
cut into the search's seeded folds, and the candidate is fitted once per fold: on the other folds'
rows, early-stopping on an inner split of them when its family's length is found that way
(``length_param``), then predicting the held-out fold. The out-of-fold outputs rank the trial and
are what ensemble selection sees. The fit's deadline is shared out between the folds still to run,
so a slowed trial still returns every fold with the model it had at its share's end. The first
fold's model is the trial's model until the refit trains one on every row with the mean of the
lengths the folds found.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from ..models.base import Budget, FitReport, ModelFamily
from ..models.registry import get_family
from ..search.validation import early_stop_split, fold_indices

__all__ = ["OutOfFold", "fit_out_of_fold", "joined", "early_stopping_split", "MIN_ROWS_TO_STOP_EARLY"]

# Fewer training rows than this keep no early-stopping rows of their own: they stop on dev.
MIN_ROWS_TO_STOP_EARLY = 20


@dataclasses.dataclass
class OutOfFold:
    """A cross-validated fit: the first fold's model, every row's out-of-fold output, and the report."""

    model: ModelFamily
    output: np.ndarray
    y: np.ndarray
    report: FitReport
    weight: np.ndarray | None
    fold_lengths: list[int] | None


def joined(train: Any, dev: Any) -> Any:
    """Train and dev as one split (train rows first), as the folds and the refit see them."""
    return train.joined(dev)


def fit_out_of_fold(family: str, params: dict[str, Any], train: Any, dev: Any, folds: int, budget: Budget, *,
                    balanced: bool = False) -> OutOfFold:
    """Fit ``family(**params)`` on each of ``folds`` folds of train + dev; see the module docstring.
    ``balanced``: each fold's fit rows weigh every class the same (``Prepared.balanced``); the
    out-of-fold outputs are scored with the rows' own weights."""
    data = joined(train, dev)
    y = np.asarray(data.y)
    cls = get_family(family)
    stops_early = cls.length_param is not None
    held_out = fold_indices(y, data.task, folds, budget.seed)
    output: np.ndarray | None = None
    first: ModelFamily | None = None
    reports: list[FitReport] = []
    for j, rows_out in enumerate(held_out):
        rows_in = np.setdiff1d(np.arange(len(y)), rows_out, assume_unique=True)
        stop = None
        if stops_early:
            rows_in, stop_rows = early_stop_split(rows_in, y, data.task, budget.seed + j)
            stop = _rows(data, stop_rows)
        model = cls(**params)
        fit_rows = _rows(data, rows_in)
        model.fit(fit_rows.balanced() if balanced else fit_rows, stop,
                  budget=_fold_budget(budget, folds - j, first_fold=j == 0))
        part = model.output(data.X[rows_out])
        if output is None:
            output = np.zeros((len(y), *np.shape(part)[1:]), dtype=np.float64)
        output[rows_out] = part
        reports.append(model.fit_report())
        first = first or model
    assert first is not None and output is not None
    lengths = [r.length for r in reports]
    known = [int(n) for n in lengths if n is not None]
    mean_length = int(round(float(np.mean(known)))) if len(known) == len(lengths) and known else None
    converged = None if any(r.converged is None for r in reports) else all(bool(r.converged) for r in reports)
    report = FitReport(length=mean_length, converged=converged, history=reports[0].history,
                       cut_at_deadline=any(r.cut_at_deadline for r in reports))
    return OutOfFold(first, output, y, report, data.weight, known if mean_length is not None else None)


def early_stopping_split(family: str, train: Any, dev: Any, seed: int) -> tuple[Any, Any]:
    """What a trial ranked on ``dev`` fits on and stops early on: for a family whose length early
    stopping finds (``length_param``), train less an inner split of it and that split, so the dev
    rows that rank the model (and weight an ensemble) never chose its length; others fit on train
    and are handed dev, which they do not use to stop."""
    if get_family(family).length_param is None or len(train.y) < MIN_ROWS_TO_STOP_EARLY:
        return train, dev
    fit_rows, stop_rows = early_stop_split(np.arange(len(train.y)), np.asarray(train.y), train.task, seed)
    return _rows(train, fit_rows), _rows(train, stop_rows)


def _rows(data: Any, rows: np.ndarray) -> Any:
    return data.take(rows)


def _fold_budget(budget: Budget, folds_left: int, *, first_fold: bool) -> Budget:
    """The fit budget of the next fold: an equal share of what is left before the trial's deadline.
    Checkpoints are for one long fit resumed after a kill, and epochs are reported for the first fold only."""
    deadline = budget.deadline
    if deadline is not None:
        deadline = time.monotonic() + max(0.0, deadline - time.monotonic()) / folds_left
    return dataclasses.replace(budget, deadline=deadline, checkpoint_dir=None,
                               on_epoch=budget.on_epoch if first_fold else None)
