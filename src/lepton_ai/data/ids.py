"""Row ids: the column a user names with ``id=`` (kept out of the features, carried into every
prediction), and columns that look like ids (one distinct value per row), which are not features.

A column is id-like when every row holds a distinct value and either its name says id (``id``,
``customer_id``, ``orderId``, ``uuid``, ``key``, ``index``) or it holds text or categories: a
category with one row per value teaches a model nothing that holds for a new row. A column of
distinct numbers with another name is kept: it may be a quantity (whole-dollar incomes, counts).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from .readers import listed_columns

__all__ = ["check_id_column", "looks_like_id", "MIN_ROWS_FOR_ID"]

# Fewer rows than this are too few to call a column of distinct values an id.
MIN_ROWS_FOR_ID = 20
_ID_NAME = re.compile(r"(^|[_\W])(id|uuid|guid|key|index)$|[a-z]Id$|^(id|uuid|guid)[_\W]", re.IGNORECASE)
_NAMED = 5


def check_id_column(frame: pd.DataFrame, column: str, label: str, weight: str | None, source: str) -> None:
    """Check the id column ``column``: present in ``frame``, not the label or the weights, never
    missing and never repeated (a DataError names the rows otherwise)."""
    if column == label:
        raise ConfigError(f"{source}: the id column {column!r} is the label column; name the column that names "
                          "each row.")
    if column == weight:
        raise ConfigError(f"{source}: the id column {column!r} is also the weight column; name two columns.")
    if column not in frame.columns:
        raise DataError(f"{source}: id column {column!r} not found. Columns: {listed_columns(frame)}.")
    values = frame[column]
    missing = np.flatnonzero(values.isna().to_numpy())
    if len(missing):
        raise DataError(f"{source}: id column {column!r} has missing values: {_rows(missing)}; every row needs an id.")
    repeated = values.duplicated(keep=False).to_numpy()
    if repeated.any():
        first = values[repeated].iloc[0]
        rows = np.flatnonzero((values == first).to_numpy())
        raise DataError(f"{source}: id column {column!r} repeats values ({int(repeated.sum())} rows share an id), "
                        f"e.g. {first!r} at {_rows(rows)}; ids must be unique per row.")


def looks_like_id(name: str, present: pd.Series, n_rows: int, kind: str) -> bool:
    """Whether the column ``name`` of ``kind`` (its non-missing values ``present`` of ``n_rows`` rows)
    is an id: see the module docstring. Free text is never one (every review differs), nor are dates
    (an event time in every row is a feature: data.dates)."""
    if kind in ("text", "date") or n_rows < MIN_ROWS_FOR_ID or len(present) < n_rows or present.nunique() < n_rows:
        return False
    return kind == "categorical" or bool(_ID_NAME.search(str(name)))


def _rows(positions: np.ndarray) -> str:
    shown = ", ".join(f"row {int(p)}" for p in positions[:_NAMED])
    return shown + (f" and {len(positions) - _NAMED} more" if len(positions) > _NAMED else "")
