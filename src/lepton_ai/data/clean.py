"""Cleaning: drop unusable rows, make labels consistent, turn infinities into missing values.

Every change is counted in a :class:`CleaningReport`; nothing is dropped without a count.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from .dataset import CleaningReport, Task
from .dates import DATE_FRACTION, guess_dates, is_datetime_values, parse_or_missing

__all__ = ["clean_table", "clean_arrays", "normalize_labels", "check_labels", "replace_infinities",
           "coerce_mostly_numeric", "coerce_mostly_dates", "NUMERIC_FRACTION"]

# A text column whose present values parse as numbers at least this often is a numeric column
# with a few stray tokens ('?', 'n/a', 'unknown'), not a categorical one.
NUMERIC_FRACTION = 0.95
_NAMED_IN_WARNING = 3


def clean_table(
    frame: pd.DataFrame, label: str, source: str, *, drop_duplicates: bool = True, keep_index: bool = False
) -> tuple[pd.DataFrame, CleaningReport]:
    """Drop rows whose label is missing and exact duplicate rows; count infinities.

    The rows kept are numbered from 0, or keep their index labels with ``keep_index``."""
    report = CleaningReport(n_rows_read=len(frame))
    # Before any row is dropped, so the rows named in the warning are positions in the table as read.
    frame, report.n_non_numeric_values = coerce_mostly_numeric(frame, label, source)
    frame, report.n_non_date_values = coerce_mostly_dates(frame, label, source)
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
    return (frame if keep_index else frame.reset_index(drop=True)), report


def clean_arrays(
    X: np.ndarray, y: np.ndarray, source: str, *, drop_duplicates: bool = True, weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, CleaningReport, np.ndarray | None]:
    """The same cleaning for array data (images, sequences, plain matrices); ``weight`` keeps the
    kept rows' sample weights."""
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
    weight = None if weight is None else weight[keep]
    if np.issubdtype(X.dtype, np.floating):
        infinite = np.isinf(X)
        if infinite.any():
            X = np.where(infinite, np.nan, X)
            report.n_infinite_values = {"x": int(infinite.sum())}
    return X, y, report, weight


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


def coerce_mostly_numeric(frame: pd.DataFrame, label: str, source: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Read the few non-numeric tokens of a mostly-numeric text column as missing values, with a warning.

    A feature column whose present values parse as numbers at least :data:`NUMERIC_FRACTION` of the
    time is a numeric column with stray markers ('?', 'n/a', 'unknown', a typo): what a pandas user
    fixes by hand with ``pd.to_numeric(errors="coerce")``. Keeping it categorical instead would
    make every distinct number its own category, losing order and magnitude, and every new number at
    predict time an unseen category. So the tokens become missing values (imputed like any gap),
    counted per column in ``CleaningReport.n_non_numeric_values`` and named in one warning. Columns
    with more words stay categorical, as do columns of pandas ``category`` dtype: that dtype is the
    way to keep such a column categorical on purpose. Returns the frame and the counts.
    """
    return _coerce_stray_values(frame, label, source, _as_numbers, holds="numbers", stays="numeric")


def coerce_mostly_dates(frame: pd.DataFrame, label: str, source: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Read the few values of a date column that are no date as missing values, with a warning.

    The date counterpart of :func:`coerce_mostly_numeric`: a text column whose sampled values are
    dates at least :data:`~.dates.DATE_FRACTION` of the time (``data.dates``) keeps its text, but a
    value that parses in neither the column's format nor any other ('unknown', '2024-13-45') becomes
    a missing value, counted in ``CleaningReport.n_non_date_values`` and named in one warning.
    """
    return _coerce_stray_values(frame, label, source, _as_dates, holds="dates", stays="a date column")


def _as_numbers(series: pd.Series) -> tuple[Any, np.ndarray] | None:
    """A mostly-numeric column as floats and the rows of its stray tokens; ``None`` for any other."""
    present = series.notna().to_numpy()
    numbers = pd.to_numeric(series[present].astype(str), errors="coerce")
    bad = numbers.isna().to_numpy()
    if not bad.any() or bad.sum() > (1 - NUMERIC_FRACTION) * len(numbers):
        return None
    column = np.full(len(series), np.nan)
    column[present] = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    return column, np.flatnonzero(present)[bad]


def _as_dates(series: pd.Series) -> tuple[Any, np.ndarray] | None:
    """A mostly-date text column with its values that are no date blanked, and their rows; ``None``
    for any other."""
    present = series.dropna()
    guess = None if is_datetime_values(present) else guess_dates(present)
    if guess is None:
        return None
    bad = np.flatnonzero(series.notna().to_numpy() & parse_or_missing(series, guess.format).isna().to_numpy())
    if not len(bad) or len(bad) > (1 - DATE_FRACTION) * len(present):
        return None
    column = series.astype(object).to_numpy(copy=True)
    column[bad] = None
    return column, bad


def _coerce_stray_values(frame: pd.DataFrame, label: str, source: str,
                         read: Callable[[pd.Series], tuple[Any, np.ndarray] | None], *, holds: str,
                         stays: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Each text feature column that ``read`` takes (its new values and the rows of its stray tokens)
    replaced, the tokens counted per column and named in one warning."""
    counts: dict[str, int] = {}
    notes: list[str] = []
    for name in frame.columns:
        series = frame[name]
        if name == label or isinstance(series.dtype, pd.CategoricalDtype):
            continue
        if not (series.dtype == object or pd.api.types.is_string_dtype(series)):
            continue
        found = read(series)
        if found is None:
            continue
        column, rows = found
        if not counts:
            frame = frame.copy()
        frame[name] = column
        counts[str(name)] = n_bad = len(rows)
        tokens = series.iloc[rows].astype(str).to_numpy()
        named = ", ".join(f"{t!r} (row {r})" for t, r in zip(tokens[:_NAMED_IN_WARNING], rows, strict=False))
        more = f" and {n_bad - _NAMED_IN_WARNING} more" if n_bad > _NAMED_IN_WARNING else ""
        notes.append(f"column {name!r} holds {holds} except {n_bad} of {int(series.notna().sum())} values: "
                     f"{named}{more}")
    if notes:
        warnings.warn(
            f"{source}: {'; '.join(notes)}. They are read as missing values and the column stays {stays} "
            "(rows count from 0, the first data row). Fix the values, or give the column the pandas "
            "'category' dtype to keep it categorical.",
            # _coerce_stray_values < coerce < clean_table < _table_dataset < build_dataset < load_data
            UserWarning, stacklevel=7,
        )
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
