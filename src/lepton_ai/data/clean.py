"""Cleaning: drop unusable rows, make labels consistent, turn infinities into missing values.

Every change is counted in a :class:`CleaningReport`; nothing is dropped without a count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError
from .dataset import CleaningReport, Task

__all__ = ["clean_table", "clean_arrays", "normalize_labels", "check_labels", "replace_infinities"]


def clean_table(
    frame: pd.DataFrame, label: str, source: str, *, drop_duplicates: bool = True
) -> tuple[pd.DataFrame, CleaningReport]:
    """Drop rows whose label is missing and exact duplicate rows; count infinities."""
    report = CleaningReport(n_rows_read=len(frame))
    missing = frame[label].isna()
    if missing.all():
        raise DataError(f"{source}: every value of label column {label!r} is missing ({len(frame)} rows).")
    if missing.any():
        report.n_missing_label_dropped = int(missing.sum())
        frame = frame.loc[~missing]
    if drop_duplicates:
        duplicated = _duplicated_rows(frame)
        report.n_duplicates_dropped = int(duplicated.sum())
        frame = frame.loc[~duplicated]
    frame, report.n_infinite_values = replace_infinities(frame)
    return frame.reset_index(drop=True), report


def clean_arrays(
    X: np.ndarray, y: np.ndarray, source: str, *, drop_duplicates: bool = True
) -> tuple[np.ndarray, np.ndarray, CleaningReport]:
    """The same cleaning for array data (images, sequences, plain matrices)."""
    report = CleaningReport(n_rows_read=len(X))
    if len(X) != len(y):
        raise DataError(f"{source}: x has {len(X)} rows but y has {len(y)}; they must match.")
    keep = ~pd.isna(y)
    if not keep.any():
        raise DataError(f"{source}: every label is missing ({len(y)} rows).")
    report.n_missing_label_dropped = int((~keep).sum())
    if drop_duplicates:
        flat = np.ascontiguousarray(X.reshape(len(X), -1))
        keys = pd.Series([row.tobytes() for row in flat]) + pd.Series(y).astype(str).map(str.encode)
        duplicated = keys.duplicated().to_numpy() & keep
        report.n_duplicates_dropped = int(duplicated.sum())
        keep &= ~duplicated
    X, y = X[keep], y[keep]
    if np.issubdtype(X.dtype, np.floating):
        infinite = np.isinf(X)
        if infinite.any():
            X = np.where(infinite, np.nan, X)
            report.n_infinite_values = {"x": int(infinite.sum())}
    return X, y, report


def replace_infinities(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Turn ±inf in numeric columns into missing values, which preparation imputes."""
    counts: dict[str, int] = {}
    numeric = frame.select_dtypes(include="number")
    if numeric.shape[1] == 0:
        return frame, counts
    infinite = np.isinf(numeric.to_numpy(dtype=float))
    if not infinite.any():
        return frame, counts
    frame = frame.copy()
    for j in np.flatnonzero(infinite.any(axis=0)):
        name = numeric.columns[j]  # type: ignore[call-overload]  # pandas-stubs omit NumPy integer positions
        counts[name] = int(infinite[:, j].sum())
        frame[name] = frame[name].mask(np.isinf(frame[name].astype(float)))
    return frame, counts


def normalize_labels(y: pd.Series | np.ndarray, task: Task) -> np.ndarray:
    """Return labels as a NumPy array: floats for regression, tidy class values otherwise.

    Class labels read as floats because of missing values (``1.0``, ``2.0``) become integers,
    and mixed object columns become strings, so classes sort and compare consistently.
    """
    values = pd.Series(y)
    if values.dtype == object:  # numbers that shared an object column with missing values
        values = values.infer_objects()
    if task == "regression":
        return values.to_numpy(dtype=np.float64)
    if pd.api.types.is_float_dtype(values):
        as_float = values.to_numpy(dtype=np.float64)
        if np.all(as_float == np.round(as_float)):
            return as_float.astype(np.int64)
        return as_float
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_integer_dtype(values):
        return values.to_numpy()
    return values.astype(str).to_numpy(dtype=object)


def check_labels(y: np.ndarray, task: Task, label: str, source: str) -> None:
    """Refuse labels that no model can learn from."""
    if task == "classification":
        classes = pd.unique(y)
        if len(classes) < 2:
            raise DataError(
                f"{source}: label column {label!r} has only one class ({classes[0]!r}); "
                "classification needs at least two."
            )
    else:
        if not np.all(np.isfinite(y.astype(float))):
            raise DataError(f"{source}: label column {label!r} holds infinite values.")
        if np.ptp(y.astype(float)) == 0:
            raise DataError(f"{source}: label column {label!r} is constant; there is nothing to learn.")


def _duplicated_rows(frame: pd.DataFrame) -> pd.Series:
    try:
        return frame.duplicated()
    except TypeError:  # unhashable cells (lists) in object columns
        return frame.astype(str).duplicated()
