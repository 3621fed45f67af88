"""How a search ranks candidates: on one held-out dev split, or on k-fold out-of-fold predictions.

A dev split of a few hundred rows ranks candidates badly: on 90 rows one row is 1.1 points of
accuracy, so several candidates tie at the top and the tie falls on whichever came first. Below
``CV_MAX_ROWS`` training rows (and when the budget can pay for the folds) the search ranks every
candidate on stratified, seeded k-fold out-of-fold (OOF) predictions instead, as FLAML and
AutoGluon switch to k-fold on small data: each training row is predicted once, by a model that
never saw it. Families whose length is found by early stopping (trees, epochs) stop on an inner
split of each fold's training rows (``EARLY_STOP_FRACTION``), never on the rows that rank them, so
the OOF predictions (and an ensemble chosen on them) have not seen a member's early-stopping rows.

A dev set the user gives is respected: it ranks, and folds do not replace it. The choice and its
reason are recorded with the search (``Validation.reason``) and shown on the leaderboard.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Validation", "choose_validation", "fold_indices", "fold_fit_rows", "early_stop_split", "CV_MAX_ROWS",
           "DEFAULT_FOLDS", "EARLY_STOP_FRACTION", "CV_BUDGET_SHARE"]

# Rows at or above which one dev split (a fifth of them: 1,000 rows or more) ranks well enough:
# one standard error of a 0.95 accuracy on 1,000 rows is 0.7 points, on 100 rows 2.2.
CV_MAX_ROWS = 5000
DEFAULT_FOLDS = 5
MIN_FOLDS = 3
# The share of a fold's training rows that early-stopping families stop on.
EARLY_STOP_FRACTION = 0.15
# Folds are used only when the median family's first starting point, run k times, costs at most
# this share of the search budget: folds that leave no time to search rank nothing worth ranking.
# The median, not the sum: one slow family (an MLP on a small table) is skipped by the budget, and
# should not cost the cheap families their folds.
CV_BUDGET_SHARE = 0.35


@dataclass(frozen=True)
class Validation:
    """``folds == 0``: rank on the dev split; ``folds >= 2``: on k-fold out-of-fold predictions over
    train + dev (the whole training data). ``reason`` says why, for the user."""

    folds: int
    reason: str

    @property
    def cross_validated(self) -> bool:
        return self.folds >= 2

    def fit_rows(self, n_rows: int) -> int:
        """Rows one fold's model trains on, out of ``n_rows`` (all of them on a dev split)."""
        return fold_fit_rows(n_rows, self.folds) if self.cross_validated else n_rows

    def to_json(self) -> dict[str, object]:
        return {"folds": self.folds, "reason": self.reason}

    @classmethod
    def from_json(cls, record: dict[str, Any] | None) -> Validation:
        if not record:  # a run recorded before the choice was stored ranked on its dev split
            return cls(0, "dev split")
        return cls(int(record.get("folds") or 0), str(record.get("reason") or ""))


def choose_validation(n_rows: int, task: str, y: np.ndarray | None, *, dev_given: bool, budget_s: float,
                      first_fit_s: Sequence[float], class_names: Sequence[str] | None = None) -> Validation:
    """Folds or a dev split for a search over ``n_rows`` training rows (train + dev when no dev set
    is given). ``first_fit_s``: the estimated fit seconds of each family's first starting point on
    the rows one fold trains on (folds need ``folds`` times their median to be at most
    ``CV_BUDGET_SHARE`` of ``budget_s``). A class with fewer rows than folds lowers the fold count (a
    warning names it); one with fewer than ``MIN_FOLDS`` rows turns folds off (warned too)."""
    if dev_given:
        return Validation(0, "the dev set given ranks the candidates")
    if n_rows >= CV_MAX_ROWS:
        return Validation(0, f"dev split ({n_rows} training rows >= {CV_MAX_ROWS})")
    folds = DEFAULT_FOLDS
    if task == "classification" and y is not None and len(y):
        values, counts = np.unique(np.asarray(y), return_counts=True)
        rarest = int(np.argmin(counts))
        name = class_names[int(values[rarest])] if class_names is not None and int(values[rarest]) < len(
            class_names) else values[rarest]
        if counts[rarest] < MIN_FOLDS:
            warnings.warn(f"class {name!r} has only {counts[rarest]} training row(s), too few for {MIN_FOLDS}-fold "
                          "cross-validation: candidates are ranked on one dev split instead.", UserWarning,
                          stacklevel=4)
            return Validation(0, f"dev split (class {name!r} has {counts[rarest]} rows, fewer than {MIN_FOLDS})")
        if counts[rarest] < folds:
            folds = int(counts[rarest])
            warnings.warn(f"class {name!r} has only {counts[rarest]} training rows: candidates are ranked on "
                          f"{folds}-fold cross-validation instead of {DEFAULT_FOLDS}-fold.", UserWarning, stacklevel=4)
    cost = folds * float(np.median(first_fit_s)) if len(first_fit_s) else 0.0
    if cost > CV_BUDGET_SHARE * budget_s:
        return Validation(0, f"dev split ({folds} folds of a typical first candidate would take ~{cost:.1f}s of "
                             f"the {budget_s:.0f}s budget)")
    return Validation(folds, f"{folds}-fold cross-validation ({n_rows} training rows < {CV_MAX_ROWS})")


def fold_fit_rows(n_rows: int, folds: int) -> int:
    """Rows one of ``folds`` folds' models trains on, out of ``n_rows`` (early-stopping rows taken off)."""
    return max(1, int(n_rows * (folds - 1) / folds * (1 - EARLY_STOP_FRACTION)))


def fold_indices(y: np.ndarray, task: str, folds: int, seed: int) -> list[np.ndarray]:
    """The held-out rows of each of ``folds`` seeded folds (stratified for classification), each sorted."""
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(y)
    if task == "classification":
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        with warnings.catch_warnings():  # a class rarer than the folds was warned about when folds were chosen
            warnings.simplefilter("ignore", UserWarning)
            return [np.sort(test) for _, test in splitter.split(np.zeros(n), y)]
    splitter_r = KFold(n_splits=folds, shuffle=True, random_state=seed)
    return [np.sort(test) for _, test in splitter_r.split(np.zeros(n))]


def early_stop_split(rows: np.ndarray, y: np.ndarray, task: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` split into (fit rows, early-stopping rows), ``EARLY_STOP_FRACTION`` of them for the
    latter, stratified where every class has two rows to share."""
    from sklearn.model_selection import train_test_split

    stratify = None
    if task == "classification":
        _, counts = np.unique(y[rows], return_counts=True)
        enough = counts.min() >= 2 and int(EARLY_STOP_FRACTION * len(rows)) >= len(counts)
        stratify = y[rows] if enough else None
    fit, stop = train_test_split(rows, test_size=EARLY_STOP_FRACTION, random_state=seed, stratify=stratify)
    return np.sort(fit), np.sort(stop)
