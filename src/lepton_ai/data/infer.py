"""Infer the task from the label and a schema from the feature columns."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from .dataset import Column, ColumnKind, Task

__all__ = ["infer_task", "infer_columns", "LABEL_CANDIDATES", "MAX_CLASSES_FOR_INTEGERS"]

# A label column is found by one of these names when the user names none.
LABEL_CANDIDATES = ("label", "target", "class", "y")
# Integer labels with at most this many distinct values are read as classes, more as a quantity.
MAX_CLASSES_FOR_INTEGERS = 20
# A string column is text (free words) rather than a category when its values are mostly distinct
# and long enough to hold several words.
_TEXT_MIN_MEAN_WORDS = 3.0
_TEXT_MIN_UNIQUE_FRACTION = 0.5
_NAMED_IN_WARNING = 10


def infer_task(y: pd.Series, task: str | None, source: str) -> Task:
    """Return 'classification' or 'regression' for the label values ``y`` (missing dropped)."""
    valid = ("classification", "regression")
    if task not in (None, "auto", *valid):
        raise ConfigError(f"task must be one of auto, classification, regression. Got {task!r}.")
    if task in valid:
        if task == "regression" and not pd.api.types.is_numeric_dtype(y):
            raise DataError(f"{source}: task='regression' needs a numeric label; label {y.name!r} holds text.")
        return task  # type: ignore[return-value]
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        return "classification"
    values = y.to_numpy(dtype=float)
    is_integral = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    if is_integral and y.nunique() <= MAX_CLASSES_FOR_INTEGERS:
        return "classification"
    return "regression"


def infer_columns(frame: pd.DataFrame, source: str) -> tuple[list[Column], dict[str, str]]:
    """Return the usable feature columns with their kinds, and the dropped ones with the reason.

    Constant and all-missing columns are dropped, named in one warning. A column constant where
    present but with gaps is kept: whether the value is there can be the signal.
    """
    columns: list[Column] = []
    dropped: dict[str, str] = {}
    shown: list[str] = []
    for name in frame.columns:
        series = frame[name]
        present = series.dropna()
        if len(present) == 0:
            dropped[name] = "all values missing"
            shown.append(f"{name!r} (all values missing)")
            continue
        if present.nunique() <= 1 and not series.isna().any():
            dropped[name] = "constant"
            shown.append(f"{name!r} (constant: every value is {_short_repr(present.iloc[0])})")
            continue
        columns.append(Column(name=name, kind=_column_kind(present)))
    if not columns:
        reasons = "; ".join(f"{k}: {v}" for k, v in dropped.items())
        raise DataError(f"{source}: no usable feature column ({reasons or 'the table has only the label'}).")
    if shown:
        listed = ", ".join(shown[:_NAMED_IN_WARNING]) + (
            f" and {len(shown) - _NAMED_IN_WARNING} more" if len(shown) > _NAMED_IN_WARNING else "")
        # stacklevel: infer_columns < _table_dataset < build_dataset < load_data < the caller
        warnings.warn(f"{source}: dropped {len(shown)} feature column(s) that carry no information: {listed}.",
                      UserWarning, stacklevel=5)
    return columns, dropped


def _short_repr(value: object) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= 40 else text[:37] + "..."


def _column_kind(present: pd.Series) -> ColumnKind:
    if pd.api.types.is_bool_dtype(present):
        return "boolean"
    if pd.api.types.is_numeric_dtype(present):
        return "numeric"
    if isinstance(present.dtype, pd.CategoricalDtype):
        return "categorical"
    as_text = present.astype(str)
    lowered = set(as_text.str.lower().unique())
    if lowered <= {"true", "false"} or lowered <= {"yes", "no"}:
        return "boolean"
    numeric = pd.to_numeric(as_text, errors="coerce")
    if numeric.notna().all():
        return "numeric"
    unique_fraction = as_text.nunique() / len(as_text)
    # pandas-stubs type .str.len for strings only; on lists it gives their lengths.
    mean_words = as_text.str.split().str.len().mean()  # type: ignore[misc]
    if unique_fraction >= _TEXT_MIN_UNIQUE_FRACTION and mean_words >= _TEXT_MIN_MEAN_WORDS:
        return "text"
    return "categorical"
