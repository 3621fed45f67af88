"""Infer the task from the label and a schema from the feature columns."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from .dataset import Column, ColumnKind, Task
from .dates import guess_dates, is_datetime_values
from .ids import looks_like_id

__all__ = ["infer_task", "infer_columns", "LABEL_CANDIDATES", "MAX_CLASSES_FOR_INTEGERS"]

# A label column is found by one of these names when the user names none.
LABEL_CANDIDATES = ("label", "target", "class", "y")
# Integer labels with at most this many distinct values are read as classes, more as a quantity.
MAX_CLASSES_FOR_INTEGERS = 20
# ... and only when each value has this many rows on average (a class needs examples to learn from).
_MIN_ROWS_PER_CLASS = 5
# A string column is text (free words) rather than a category when its values are mostly distinct
# and long enough to hold several words.
_TEXT_MIN_MEAN_WORDS = 3.0
_TEXT_MIN_UNIQUE_FRACTION = 0.5
_NAMED_IN_WARNING = 10


def infer_task(y: pd.Series, task: str | None, source: str) -> tuple[Task, str]:
    """The task for the label values ``y``, and why, in words a user can check (``--task`` overrides).

    Text and booleans are classes. Numbers with a fraction are a quantity. Whole numbers are
    classes only when there are few distinct values (at most 20) and they repeat: at least 5 rows
    per value on average (2 values always count as classes). Otherwise a small regression table of
    whole numbers, every value distinct, would become as many classes of one row each (as
    AutoGluon's problem-type inference, which also looks at the share of distinct values).
    """
    valid = ("classification", "regression")
    if task not in (None, "auto", *valid):
        raise ConfigError(f"task must be one of auto, classification, regression. Got {task!r}.")
    name = y.name
    if task in valid:
        if task == "regression" and not pd.api.types.is_numeric_dtype(y):
            raise DataError(f"{source}: task='regression' needs a numeric label; label {name!r} holds text.")
        return task, "as asked"  # type: ignore[return-value]
    if pd.api.types.is_bool_dtype(y):
        return "classification", f"label {name!r} is true/false"
    if not pd.api.types.is_numeric_dtype(y):
        return "classification", f"label {name!r} holds text"
    values = y.dropna().to_numpy(dtype=float)
    if not (np.all(np.isfinite(values)) and np.all(values == np.round(values))):
        return "regression", f"label {name!r} holds numbers with fractions"
    n_distinct, n_rows = int(pd.unique(values).size), len(values)
    if n_distinct <= 2 or (n_distinct <= MAX_CLASSES_FOR_INTEGERS and n_rows >= _MIN_ROWS_PER_CLASS * n_distinct):
        return "classification", (f"label {name!r} holds {n_distinct} distinct whole numbers over {n_rows} rows; "
                                  "pass task='regression' if they are quantities")
    why = (f"more than {MAX_CLASSES_FOR_INTEGERS}" if n_distinct > MAX_CLASSES_FOR_INTEGERS
           else f"fewer than {_MIN_ROWS_PER_CLASS} rows each on average")
    return "regression", (f"label {name!r} holds {n_distinct} distinct whole numbers over {n_rows} rows ({why}); "
                          "pass task='classification' if they are classes")


def infer_columns(frame: pd.DataFrame, source: str) -> tuple[list[Column], dict[str, str]]:
    """Return the usable feature columns with their kinds, and the dropped ones with the reason.

    Constant and all-missing columns are dropped, named in one warning; so are id-like columns
    (``data.ids``), in another. A column constant where present but with gaps is kept: whether the
    value is there can be the signal.
    """
    columns: list[Column] = []
    dropped: dict[str, str] = {}
    shown: list[str] = []
    ids: list[str] = []
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
        kind, fmt = _column_kind(present)
        if looks_like_id(str(name), present, len(series), kind):
            dropped[name] = "id-like: a distinct value in every row"
            ids.append(repr(name))
            continue
        columns.append(Column(name=name, kind=kind, format=fmt))
    if ids:
        # stacklevel: infer_columns < _table_dataset < build_dataset < load_data < the caller
        warnings.warn(f"{source}: dropped {len(ids)} column(s) that look like row ids (a distinct value in every row, "
                      f"which no new row shares): {', '.join(ids)}. Name the id column with id= (CLI: --id) to "
                      "carry it into the predictions.", UserWarning, stacklevel=5)
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


def _column_kind(present: pd.Series) -> tuple[ColumnKind, str | None]:
    """The kind of a column from its non-missing values, and a date column's format (data.dates)."""
    if pd.api.types.is_bool_dtype(present):
        return "boolean", None
    if pd.api.types.is_numeric_dtype(present):
        return "numeric", None
    if isinstance(present.dtype, pd.CategoricalDtype):
        return "categorical", None
    if is_datetime_values(present):
        return "date", None
    as_text = present.astype(str)
    lowered = set(as_text.str.lower().unique())
    if lowered <= {"true", "false"} or lowered <= {"yes", "no"}:
        return "boolean", None
    numeric = pd.to_numeric(as_text, errors="coerce")
    if numeric.notna().all():
        return "numeric", None
    dates = guess_dates(present)
    if dates is not None:
        return "date", dates.format
    return _words_or_categories(as_text), None


def _words_or_categories(as_text: pd.Series) -> ColumnKind:
    unique_fraction = as_text.nunique() / len(as_text)
    # pandas-stubs type .str.len for strings only; on lists it gives their lengths.
    mean_words = as_text.str.split().str.len().mean()  # type: ignore[misc]
    if unique_fraction >= _TEXT_MIN_UNIQUE_FRACTION and mean_words >= _TEXT_MIN_MEAN_WORDS:
        return "text"
    return "categorical"
