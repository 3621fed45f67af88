"""Sample weights: read from a column of the table or given per row, checked, and kept beside the rows.

A weight says how much a row counts: in every family's fit (LightGBM's ``weight``, scikit-learn's
``sample_weight``, each row's loss in a network) and in every score of those rows (dev metric,
ensemble weights, decision threshold, ``evaluate``). Weights must be finite numbers >= 0, not all 0.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from .dataset import Dataset
from .readers import listed_columns

__all__ = ["check_weights", "weights_of_rows", "with_weights", "WEIGHT_COLUMN"]

# The column a weight array given beside a table is kept in until cleaning has kept or dropped its rows.
WEIGHT_COLUMN = "__lepton_weight__"
_NAMED = 5


def check_weights(values: Any, source: str, what: str, rows: np.ndarray | None = None) -> np.ndarray:
    """``values`` as float64 weights, or a DataError naming ``what`` (``"weight column 'w'"``), the rows
    (``rows``: their numbers as the user counts them; default positions from 0) and what was expected."""
    series = pd.Series(np.asarray(values, dtype=object) if not isinstance(values, pd.Series) else values.to_numpy())
    numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64)
    where = np.arange(len(numbers)) if rows is None else np.asarray(rows)
    problems = (
        (series.notna().to_numpy() & np.isnan(numbers), "values that are not numbers"),
        (series.isna().to_numpy(), "missing values"),
        (np.isinf(numbers), "infinite values"),
        (numbers < 0, "negative values"),
    )
    for bad, kind in problems:
        if bad.any():
            shown = ", ".join(f"row {where[i]} ({series.iloc[i]!r})" for i in np.flatnonzero(bad)[:_NAMED])
            more = f" and {int(bad.sum()) - _NAMED} more" if bad.sum() > _NAMED else ""
            raise DataError(f"{source}: {what} has {kind}: {shown}{more}. Sample weights must be finite numbers >= 0.")
    if len(numbers) and not (numbers > 0).any():
        raise DataError(f"{source}: every value of {what} is zero; at least one row must weigh more than zero.")
    return numbers


def weights_of_rows(weight: Any, n_rows: int, source: str) -> np.ndarray:
    """A weight array given beside ``n_rows`` rows (``sample_weight=``), checked; ConfigError when its
    shape does not match."""
    if isinstance(weight, (str, bytes)):
        raise ConfigError(f"{source}: a weight column name ({weight!r}) needs a table with that column.")
    array = np.asarray(weight, dtype=object) if not isinstance(weight, np.ndarray) else weight
    if array.ndim != 1 or len(array) != n_rows:
        raise ConfigError(f"{source}: sample weights must be one per row: {n_rows} rows, got weights of shape "
                          f"{tuple(array.shape)}.")
    return check_weights(array, source, "sample_weight")


def with_weights(data: Dataset, weight: str | Any) -> Dataset:
    """``data`` (rows read by a trained schema) weighted by ``weight``: the name of one of its columns,
    one number per row, or ``None`` (``data`` as it is); a DataError when the table lacks the column."""
    if weight is None:
        return data
    if not isinstance(weight, str):
        return dataclasses.replace(data, weight=weights_of_rows(weight, len(data), data.source))
    column, frame = weight, data.X
    if not isinstance(frame, pd.DataFrame):
        raise ConfigError(f"{data.source}: the weight column {column!r} is read from a table; give the rows as a "
                          "file or DataFrame, or the weights as an array.")
    if column not in frame.columns:
        raise DataError(f"{data.source}: weight column {column!r} not found. Columns: {listed_columns(frame)}.")
    return dataclasses.replace(data, weight=check_weights(frame[column], data.source, f"weight column {column!r}"))
