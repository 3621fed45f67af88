"""Turn what a user hands to ``predict``/``test`` into a Dataset that fits a trained schema.

Unlike :func:`load_data`, nothing is dropped or re-inferred here: predictions stay aligned with
the rows given, and the label column, when present under its training name, is read for scoring
and otherwise ignored.

Rows of a table may come as a DataFrame, a file, an array, a record (``dict`` of column name →
value), a list of records, or an Arrow Table or RecordBatch. Records and Arrow data are kept as
they are (:class:`Records`): the inference plan reads them directly, which is what makes a one-row
prediction from a record cost microseconds rather than the DataFrame it would otherwise become.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from .clean import normalize_labels
from .dataset import Dataset, Records, Schema
from .images import IMAGE_SUFFIXES, list_images, read_images
from .load import check_array_dtype, read_source
from .sequences import fit_steps

__all__ = ["to_input"]


def to_input(data: Any, schema: Schema, *, sep: str | None = None, encoding: str = "utf-8") -> Dataset:
    """Return ``data`` as a Dataset with the columns (or array shape) of ``schema``."""
    if isinstance(data, Dataset):
        return data
    y_given = None
    if isinstance(data, tuple) and len(data) == 2:
        data, y_given = data
    if schema.modality in ("tabular", "text"):
        rows = _table_rows(data, schema.label)
        if rows is not None:
            X, y = rows
            return Dataset(X=X, y=_labels(y if y_given is None else y_given, schema), schema=schema,
                           source=_rows_source(X), ids=_record_ids(X, schema.id_column))
    if schema.modality == "image" and isinstance(data, (str, Path)) and _is_image_path(Path(data)):
        X, y_files, paths = _read_image_input(Path(data), schema)
        return Dataset(X=X, y=_labels(y_files if y_given is None else y_given, schema), schema=schema,
                       source=str(data), ids=paths)
    content, name = read_source(data, sep=sep, encoding=encoding)
    if isinstance(content, tuple):
        X, y_array = content
        y_given = y_array if y_given is None else y_given
        if schema.modality in ("tabular", "text"):
            content = _array_as_table(X, schema, name)
        else:
            check_array_dtype(X, name)
            X = _image_rows(X, schema, name) if schema.modality == "image" else fit_steps(X, schema.shape, name)
            return Dataset(X=X, y=_labels(y_given, schema), schema=schema, source=name)
    frame = content
    # The label column stays in the frame (preparation selects feature columns by name, and
    # infinities become missing values there): copying a table costs more than predicting a row.
    y = frame[schema.label] if schema.label in frame.columns else None
    if y_given is not None:
        y = y_given
    ids = frame[schema.id_column].to_numpy() if schema.id_column and schema.id_column in frame.columns else None
    return Dataset(X=frame, y=_labels(y, schema), schema=schema, source=name, ids=ids)


def _record_ids(X: Any, column: str | None) -> np.ndarray | None:
    """The id column's values of records or an Arrow table that hold it (``None`` where a record lacks it)."""
    if column is None:
        return None
    if isinstance(X, Records):
        if not any(column in row for row in X.rows):
            return None
        return np.asarray([row.get(column) for row in X.rows], dtype=object)
    if column in X.schema.names:
        return np.asarray(X.column(column).to_pylist(), dtype=object)
    return None


def _table_rows(data: Any, label: str) -> tuple[Any, Any] | None:
    """Records or an Arrow table kept as given, with their label values when they hold the label;
    ``None`` for any other input."""
    if isinstance(data, dict):
        data = Records([data])
    elif isinstance(data, list) and (not data or isinstance(data[0], dict)):
        data = Records(data)
    if isinstance(data, Records):
        if not data.rows:
            raise DataError("records: the list of records is empty; pass at least one dict of column name → value.")
        labelled = any(isinstance(row, dict) and label in row for row in data.rows)
        return data, [row.get(label) if isinstance(row, dict) else None for row in data.rows] if labelled else None
    arrow = sys.modules.get("pyarrow")  # an Arrow object means pyarrow is imported already
    if arrow is not None and isinstance(data, (arrow.Table, arrow.RecordBatch)):
        if data.num_rows == 0:
            raise DataError(f"{_rows_source(data)}: has no rows.")
        names = data.schema.names
        return data, data.column(label).to_numpy(zero_copy_only=False) if label in names else None
    return None


def _rows_source(X: Any) -> str:
    """How messages name rows given as records or Arrow data."""
    if isinstance(X, Records):
        return "record" if len(X) == 1 else "records"
    return f"Arrow {type(X).__name__}"


def _is_image_path(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES


def _read_image_input(path: Path, schema: Schema) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Images at ``path`` (a file, a folder of files, or a folder of class sub-folders) at the trained
    size, their labels (the class sub-folders' names; ``None`` without) and their files' paths.

    A folder's files are read in sorted path order; with class sub-folders, their names are the labels.
    """
    if not path.exists():
        raise DataError(f"{path}: no such file or folder.")
    if path.is_file():
        return read_images([path], tuple(schema.shape)), None, np.asarray([str(path)], dtype=object)
    class_dirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".") and list_images(p))
    files = [f for d in class_dirs for f in list_images(d)] if class_dirs else list_images(path)
    if not files:
        raise DataError(f"{path}: holds no image file ({', '.join(IMAGE_SUFFIXES)}).")
    y = np.asarray([f.relative_to(path).parts[0] for f in files], dtype=object) if class_dirs else None
    return read_images(files, tuple(schema.shape)), y, np.asarray([str(f) for f in files], dtype=object)


def _image_rows(X: np.ndarray, schema: Schema, source: str) -> np.ndarray:
    """Check an array of images against the trained per-image shape; one image becomes one row."""
    shape = tuple(schema.shape)
    if X.shape == shape:
        X = X[None]
    if len(shape) == 2 and X.ndim == 4 and X.shape[-1] == 1:  # grayscale with a channel axis
        X = X[..., 0]
    if X.shape[1:] != shape:
        kind = "grayscale H x W" if len(shape) == 2 else "H x W x channels"
        raise DataError(f"{source}: expected images of shape {shape} ({kind}, N x {' x '.join(map(str, shape))} "
                        f"for N images); got {X.shape[1:]} per image (array shape {X.shape}). Resize the "
                        "images, or pass the image files or their folder: files are resized to the trained size.")
    return X


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
