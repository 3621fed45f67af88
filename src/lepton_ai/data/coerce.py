"""Turn what a user hands to ``predict``/``test`` into a Dataset that fits a trained schema.

Unlike :func:`load_data`, nothing is dropped or re-inferred here: predictions stay aligned with
the rows given, and the label column, when present under its training name, is read for scoring
and otherwise ignored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from .clean import normalize_labels
from .dataset import Dataset, Schema
from .load import read_source

__all__ = ["to_input"]


def to_input(data: Any, schema: Schema, *, sep: str | None = None, encoding: str = "utf-8") -> Dataset:
    """Return ``data`` as a Dataset with the columns (or array shape) of ``schema``."""
    if isinstance(data, Dataset):
        return data
    y_given = None
    if isinstance(data, tuple) and len(data) == 2:
        data, y_given = data
    content, name = read_source(data, sep=sep, encoding=encoding)
    if isinstance(content, tuple):
        X, y_array = content
        y_given = y_array if y_given is None else y_given
        if schema.modality == "tabular":
            content = _array_as_table(X, schema, name)
        else:
            return Dataset(X=X, y=_labels(y_given, schema), schema=schema, source=name)
    frame = content
    # The label column stays in the frame (preparation selects feature columns by name, and
    # infinities become missing values there): copying a table costs more than predicting a row.
    y = frame[schema.label] if schema.label in frame.columns else None
    if y_given is not None:
        y = y_given
    return Dataset(X=frame, y=_labels(y, schema), schema=schema, source=name)


def _array_as_table(X: np.ndarray, schema: Schema, source: str) -> pd.DataFrame:
    expected = len(schema.input_columns)
    if X.ndim != 2 or X.shape[1] != expected:
        width = X.shape[1] if X.ndim == 2 else X.shape[1:]
        raise DataError(f"X has {width} features, but LeptonModel is expecting {expected} features as input "
                        f"({source}; columns {', '.join(schema.input_columns[:10])}"
                        f"{' ...' if expected > 10 else ''}).")
    return pd.DataFrame(X, columns=list(schema.input_columns))


def _labels(y: Any, schema: Schema) -> np.ndarray | None:
    if y is None:
        return None
    series = pd.Series(np.asarray(y).ravel() if not isinstance(y, pd.Series) else y)
    if series.isna().all():
        return None
    return normalize_labels(series, schema.task) if not series.isna().any() else _with_missing(series, schema)


def _with_missing(series: pd.Series, schema: Schema) -> np.ndarray:
    """Keep missing labels as None (classification) or NaN (regression): scoring skips those rows."""
    present = series.notna().to_numpy()
    out = np.empty(len(series), dtype=object if schema.task == "classification" else np.float64)
    out[:] = None if schema.task == "classification" else np.nan
    out[present] = normalize_labels(series[present], schema.task)
    return out
