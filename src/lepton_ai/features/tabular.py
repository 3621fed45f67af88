"""Preparation of tables (and flattened arrays) fitted on train only, stored with the model.

Two views of the same fitted state serve the two kinds of family:

Date columns enter as their calendar parts (features/calendar.py): numbers like any other.

* ``dense`` — for linear models and MLPs: numeric columns imputed with the train median and
  standardised, a missing-value indicator for every column that had gaps in train, categories
  one-hot encoded (an unseen or missing category is all zeros), booleans as 0/1, text hashed.
* ``codes`` — for tree models: numeric values as they are (missing stays NaN, trees route it),
  categories as integer codes (unseen or missing is NaN), booleans as 0/1, text hashed.

A third view, ``text``, hands the text columns' raw strings to the text families (features/text.py).

Fitting happens here; transforming is the inference plan's (features/plan.py), compiled from the
fitted state on first use: it reads a DataFrame, records, arrays or Arrow batches alike.

Columns are aligned by name: a reordered table gives identical features, extra columns are
ignored, and a missing column is an error that names it. Unseen categories are counted per column
into a dict the caller passes to ``transform(..., unseen=counts)``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from ..data.dataset import Dataset, Schema
from ..errors import NotFittedError
from .columns import Layout, check_frame_columns, column_positions, read_columns
from .plan import MAX_ONE_HOT, TEXT_HASH_FEATURES, InferencePlan
from .prepared import View

__all__ = ["TabularPreparer", "View", "MAX_ONE_HOT", "TEXT_HASH_FEATURES", "check_columns", "column_positions"]


@dataclass
class _NumericState:
    names: list[str]
    median: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    missing_in_train: np.ndarray  # bool per column: add an indicator in the dense view


@dataclass
class TabularPreparer:
    """Fit on a training Dataset, then turn any table with the same columns into float32 features."""

    schema: Schema
    numeric_: _NumericState | None = None
    categories_: dict[str, list[Any]] = field(default_factory=dict)

    # ---- fitting -------------------------------------------------------------------------
    def fit(self, train: Dataset) -> TabularPreparer:
        """Learn imputation, scaling and category lists from ``train`` only."""
        self.__dict__.pop("_plan", None)  # compiled from the fitted state on first use
        numeric_block = read_columns(train.X, Layout.of(self.schema), train.source).numeric
        with warnings.catch_warnings():  # a column with no value in train gets median 0, below
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(numeric_block, axis=0) if numeric_block.size else np.zeros(0)
        median = np.where(np.isnan(median), 0.0, median)
        filled = np.where(np.isnan(numeric_block), median, numeric_block)
        std = filled.std(axis=0) if filled.size else np.zeros(0)
        self.numeric_ = _NumericState(
            names=self._numeric_names(),
            median=median,
            mean=filled.mean(axis=0) if filled.size else np.zeros(0),
            std=np.where(std > 0, std, 1.0),
            missing_in_train=np.isnan(numeric_block).any(axis=0),
        )
        frame = cast(pd.DataFrame, train.X)  # only tables have categorical columns
        for column in self._columns("categorical"):
            counts = frame[column].dropna().astype(str).value_counts(sort=True)
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            self.categories_[column] = [value for value, _ in ranked]
        return self

    # ---- transforming ---------------------------------------------------------------------
    def transform(self, X: Any, view: View = "dense", *, source: str = "data",
                  unseen: dict[str, int] | None = None) -> np.ndarray:
        """Return the prepared float32 matrix ``(n_rows, n_features)`` of ``X`` in ``view``.

        ``X``: a DataFrame, a record (dict), a list of records or :class:`Records`, a 2-D array (or
        one row) of the training table's columns, an Arrow Table or RecordBatch; for images and
        sequences, an array of rows. The "text" view is an object array ``(n_rows, n_text_columns)`` of strings instead.

        ``unseen``, when given, receives per categorical column how many values of ``X`` were
        categories not seen in training (missing values are not counted): each column's count is
        added to what the dict holds, so one dict can total several calls. The dict belongs to the
        caller, so concurrent calls on one shared preparer (a server's request threads) never mix
        their counts; nothing is stored on the preparer. The "text" view has no categories and
        leaves it untouched.
        """
        if self.numeric_ is None:
            raise NotFittedError("TabularPreparer.transform was called before fit.")
        return self.plan().transform(X, view, source=source, unseen=unseen)

    def plan(self) -> InferencePlan:
        """The fitted state compiled for inference (features/plan.py), built on first use and kept.

        Without a lock: a plan is immutable, so two threads that both build one on the first call
        build equal plans, and either serves. ``fit`` drops it.
        """
        plan = self.__dict__.get("_plan")
        if plan is None:
            if self.numeric_ is None:
                raise NotFittedError("TabularPreparer.plan was called before fit.")
            plan = self.__dict__["_plan"] = InferencePlan.of(self)
        return cast(InferencePlan, plan)

    def categorical_indices(self, view: View) -> list[int]:
        """Positions of the categorical code columns in the ``codes`` view (for LightGBM)."""
        if view != "codes" or self.numeric_ is None:
            return []
        start = len(self.numeric_.names)
        return list(range(start, start + len(self._columns("categorical"))))

    def feature_names(self, view: View) -> list[str]:
        """Names of the prepared columns, in order."""
        assert self.numeric_ is not None
        names = list(self.numeric_.names)
        if view == "dense":
            names += [f"{n}__missing" for n, m in zip(names, self.numeric_.missing_in_train, strict=True) if m]
            for column in self._columns("categorical"):
                names += [f"{column}={v}" for v in self.categories_[column][:MAX_ONE_HOT]]
                if len(self.categories_[column]) > MAX_ONE_HOT:
                    names.append(f"{column}=<other>")
        else:
            names += self._columns("categorical")
        for column in self._columns("text"):
            names += [f"{column}#{i}" for i in range(TEXT_HASH_FEATURES)]
        return names

    # ---- persistence ----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """Return the fitted state as plain JSON (floats round-trip exactly through ``repr``)."""
        assert self.numeric_ is not None
        state = self.numeric_
        return {
            "numeric": {
                "names": state.names,
                "median": state.median.tolist(),
                "mean": state.mean.tolist(),
                "std": state.std.tolist(),
                "missing_in_train": state.missing_in_train.tolist(),
            },
            "categories": self.categories_,
        }

    @classmethod
    def from_json(cls, schema: Schema, data: dict[str, Any]) -> TabularPreparer:
        numeric = data["numeric"]
        preparer = cls(schema=schema)
        preparer.numeric_ = _NumericState(
            names=list(numeric["names"]),
            median=np.asarray(numeric["median"], dtype=np.float64),
            mean=np.asarray(numeric["mean"], dtype=np.float64),
            std=np.asarray(numeric["std"], dtype=np.float64),
            missing_in_train=np.asarray(numeric["missing_in_train"], dtype=bool),
        )
        preparer.categories_ = {k: list(v) for k, v in data["categories"].items()}
        return preparer

    # ---- internals ------------------------------------------------------------------------
    def _columns(self, kind: str) -> list[str]:
        by_kind = self.__dict__.setdefault("_by_kind", {})
        if kind not in by_kind:
            by_kind[kind] = [c.name for c in self.schema.columns if c.kind == kind]
        return by_kind[kind]

    def _numeric_names(self) -> list[str]:
        """The numeric block's columns: numbers and booleans, then the dates' calendar parts."""
        return Layout.of(self.schema).block_names


def check_columns(X: pd.DataFrame, schema: Schema, source: str) -> None:
    """Refuse a table that lacks or repeats any feature column the model was trained on."""
    check_frame_columns(X, schema.feature_names, source)
