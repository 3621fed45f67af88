"""Preparation of tables (and flattened arrays) fitted on train only, stored with the model.

Two views of the same fitted state serve the two kinds of family:

* ``dense`` — for linear models and MLPs: numeric columns imputed with the train median and
  standardised, a missing-value indicator for every column that had gaps in train, categories
  one-hot encoded (an unseen or missing category is all zeros), booleans as 0/1, text hashed.
* ``codes`` — for tree models: numeric values as they are (missing stays NaN, trees route it),
  categories as integer codes (unseen or missing is NaN), booleans as 0/1, text hashed.

A third view, ``text``, hands the text columns' raw strings to the text families (features/text.py).

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
from ..errors import DataError, NotFittedError
from .prepared import View
from .text import text_block

__all__ = ["TabularPreparer", "View", "MAX_ONE_HOT", "TEXT_HASH_FEATURES", "check_columns", "column_positions"]

# Categories beyond the most frequent MAX_ONE_HOT share one "other" slot in the dense view.
MAX_ONE_HOT = 32
TEXT_HASH_FEATURES = 1024
# Modalities whose rows are arrays (flattened here) rather than table columns.
_ARRAY_MODALITIES = ("image", "sequence")
# Up to this many numeric columns in a mixed-type frame are read one by one (faster than a selection).
_PER_COLUMN_MAX = 64
# Frames of up to this many cells (one-row predictions) are read cell by cell, not column by column.
_FEW_CELLS = 64
_TRUE = {"true", "yes", "1", "1.0", "t", "y"}
_FALSE = {"false", "no", "0", "0.0", "f", "n"}


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
        self.__dict__.pop("_category_index", None)  # built lazily from categories_ by transform
        numeric_block = self._numeric_block(train.X, train.source)
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
    def transform(self, X: pd.DataFrame | np.ndarray, view: View = "dense", *, source: str = "data",
                  unseen: dict[str, int] | None = None) -> np.ndarray:
        """Return the prepared float32 matrix ``(n_rows, n_features)`` of ``X`` in ``view``.

        The "text" view is an object array ``(n_rows, n_text_columns)`` of strings instead.

        ``unseen``, when given, receives per categorical column how many values of ``X`` were
        categories not seen in training (missing values are not counted): each column's count is
        added to what the dict holds, so one dict can total several calls. The dict belongs to the
        caller, so concurrent calls on one shared preparer (a server's request threads) never mix
        their counts; nothing is stored on the preparer. The "text" view has no categories and
        leaves it untouched.
        """
        if self.numeric_ is None:
            raise NotFittedError("TabularPreparer.transform was called before fit.")
        if view == "text":
            if isinstance(X, pd.DataFrame):
                check_columns(X, self.schema, source)
            return text_block(X, self._columns("text"), source)
        state = self.numeric_
        columns = self._few_rows_columns(X)
        block = self._numeric_block(X, source, columns)
        blocks: list[np.ndarray] = []
        if view == "dense":
            missing = np.isnan(block)
            filled = np.where(missing, state.median, block)
            blocks.append((filled - state.mean) / state.std)
            if state.missing_in_train.any():
                blocks.append(missing[:, state.missing_in_train].astype(np.float64))
        else:
            blocks.append(block)
        frame = cast(pd.DataFrame, X)  # only tables have categorical and text columns
        for column in self._columns("categorical"):
            values = columns[column] if columns is not None else frame[column].to_numpy()
            blocks.append(self._encode_category(values, column, view, unseen))
        for column in self._columns("text"):
            blocks.append(_hash_text(frame[column]))
        out = np.hstack(blocks) if len(blocks) > 1 else blocks[0]
        return np.ascontiguousarray(out, dtype=np.float32)

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
        if self.schema.modality in _ARRAY_MODALITIES:
            return [f"x{i}" for i in range(int(np.prod(self.schema.shape)))]
        return [c.name for c in self.schema.columns if c.kind in ("numeric", "boolean")]

    def _few_rows_columns(self, X: pd.DataFrame | np.ndarray) -> dict[str, np.ndarray] | None:
        """The feature columns of a frame of a few cells, read value by value.

        Selecting a column of a DataFrame costs ~25 µs and ``get_indexer`` ~70 µs, which would
        dominate one-row latency; reading each cell with ``iat`` costs ~2.5 µs. ``None`` when the
        fast path does not apply (arrays, all-numeric frames, more cells, duplicate or missing columns).
        """
        if self.schema.modality in _ARRAY_MODALITIES or not isinstance(X, pd.DataFrame):
            return None
        names = self.schema.feature_names
        if len(X) * len(names) > _FEW_CELLS or all(dtype.kind in "biuf" for dtype in X.dtypes):
            return None  # all-numeric frames have a faster path of their own (_numeric_block)
        positions = column_positions(X)
        if len(positions) < X.shape[1] or any(name not in positions for name in names):
            return None  # check_columns names what is missing or repeated
        rows = range(len(X))
        return {name: np.array([X.iat[i, positions[name]] for i in rows], dtype=object) for name in names}

    def _numeric_block(self, X: pd.DataFrame | np.ndarray, source: str,
                       columns: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Numeric and boolean columns as float64, in schema order; arrays are flattened."""
        if self.schema.modality in _ARRAY_MODALITIES:
            return _array_block(X, self.schema, source)
        assert isinstance(X, pd.DataFrame)
        check_columns(X, self.schema, source)
        numeric = self._columns("numeric")
        booleans = set(self._columns("boolean"))
        order = [c.name for c in self.schema.columns if c.kind in ("numeric", "boolean")]
        if not order:
            return np.zeros((len(X), 0))
        if columns is not None and not booleans:
            values = [columns[name] for name in numeric]
            if all(isinstance(v, (float, int, np.floating, np.integer)) and not isinstance(v, bool)
                   for column in values for v in column):
                block = np.array(values, dtype=np.float64).T
                return np.where(np.isinf(block), np.nan, block)
        if not booleans:
            if all(dtype.kind in "biuf" for dtype in X.dtypes):
                # All-numeric frame: one conversion of the whole frame beats selecting columns by
                # name (about 6x faster for a single row, which is what latency is made of).
                positions = column_positions(X)
                block = X.to_numpy(dtype=np.float64, na_value=np.nan)[:, [positions[name] for name in numeric]]
                return np.where(np.isinf(block), np.nan, block)
            if len(numeric) <= _PER_COLUMN_MAX:
                # Mixed frame with few numeric columns: reading them one by one skips the costly
                # multi-column selection.
                selected = [X[name] for name in numeric]
                if all(column.dtype.kind in "biuf" for column in selected):
                    block = np.column_stack([c.to_numpy(dtype=np.float64, na_value=np.nan) for c in selected])
                    return np.where(np.isinf(block), np.nan, block)
            return _to_float(X[numeric], source)
        parts = {}
        for name in order:
            parts[name] = _to_bool(X[name], name, source) if name in booleans else _to_float(X[[name]], source)[:, 0]
        return np.column_stack([parts[n] for n in order])

    def _encode_category(self, values: np.ndarray, column: str, view: View,
                         unseen: dict[str, int] | None = None) -> np.ndarray:
        categories = self.categories_[column]
        indexes = self.__dict__.setdefault("_category_index", {})
        if column not in indexes:
            indexes[column] = {value: i for i, value in enumerate(categories)}
        index = indexes[column]
        codes = np.array(
            [np.nan if pd.isna(v) else index.get(str(v), np.nan) for v in values], dtype=np.float64
        )
        if unseen is not None:  # a NaN code is a missing value or an unseen category
            n_unseen = int(np.isnan(codes).sum()) - int(pd.isna(values).sum())
            unseen[column] = unseen.get(column, 0) + n_unseen
        if view == "codes":
            return codes[:, None]
        width = min(len(categories), MAX_ONE_HOT) + (1 if len(categories) > MAX_ONE_HOT else 0)
        out = np.zeros((len(codes), width))
        known = ~np.isnan(codes)
        slots = np.minimum(codes[known].astype(np.int64), width - 1)
        out[np.flatnonzero(known), slots] = 1.0
        return out


def check_columns(X: pd.DataFrame, schema: Schema, source: str) -> None:
    """Refuse a table that lacks any feature column the model was trained on."""
    positions = column_positions(X)
    if len(positions) < X.shape[1]:
        repeated = sorted({str(n) for n in X.columns[X.columns.duplicated()] if n in set(schema.feature_names)})
        if repeated:
            raise DataError(f"{source}: column(s) {', '.join(map(repr, repeated))} appear more than once; "
                            "each feature column must appear once.")
    missing = [name for name in schema.feature_names if name not in positions]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(map(repr, missing))} that the model was trained on. "
            f"Expected columns: {', '.join(schema.feature_names)}."
        )


def column_positions(X: pd.DataFrame) -> dict[Any, int]:
    """Column name → position of its first occurrence; cheaper than ``get_indexer`` on a few names."""
    positions: dict[Any, int] = {}
    for i, name in enumerate(X.columns.tolist()):
        positions.setdefault(name, i)
    return positions


def _to_float(frame: pd.DataFrame, source: str) -> np.ndarray:
    try:
        out = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    except (ValueError, TypeError):
        for name in frame.columns:
            converted = pd.to_numeric(frame[name], errors="coerce")
            bad = converted.isna() & frame[name].notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataError(
                    f"{source}: column {name!r} row {row}: expected a number, got {frame[name].iloc[row]!r}."
                ) from None
        out = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return np.where(np.isinf(out), np.nan, out)


def _to_bool(series: pd.Series, name: str, source: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    out = np.full(len(series), np.nan)
    for i, value in enumerate(series.to_numpy()):
        if pd.isna(value):
            continue
        text = str(value).strip().lower()
        if text in _TRUE:
            out[i] = 1.0
        elif text in _FALSE:
            out[i] = 0.0
        else:
            raise DataError(f"{source}: column {name!r} row {i}: expected true/false, got {value!r}.")
    return out


def _array_block(X: pd.DataFrame | np.ndarray, schema: Schema, source: str) -> np.ndarray:
    array = np.asarray(X)
    expected = tuple(schema.shape)
    if array.shape[1:] != expected:
        raise DataError(f"{source}: expected rows of shape {expected}, got {array.shape[1:]}.")
    flat = array.reshape(len(array), -1).astype(np.float64)
    return np.where(np.isinf(flat), np.nan, flat)


def _hash_text(series: pd.Series) -> np.ndarray:
    from sklearn.feature_extraction.text import HashingVectorizer

    # Stateless: nothing to fit or store, and the same words always land in the same slots.
    vectorizer = HashingVectorizer(n_features=TEXT_HASH_FEATURES, alternate_sign=False, norm="l2")
    return vectorizer.transform(series.fillna("").astype(str)).toarray()
