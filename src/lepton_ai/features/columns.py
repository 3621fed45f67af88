"""Read any table input into the raw columns preparation starts from, without per-call pandas indexing.

A table reaches preparation as a DataFrame, a record (``dict``), a list of records (or
:class:`~lepton_ai.data.dataset.Records`), a NumPy row or 2-D array whose columns are the training
table's (``Schema.input_columns``), or an Arrow Table or RecordBatch; images and sequences as an array
of rows. :func:`read_columns` turns each into :class:`RawColumns`: the numeric and boolean columns as
one float64 block (missing and infinite values NaN) and the values of the categorical and text columns
as lists, all in schema order.

Every form is read by the same rules, those of a DataFrame column: numbers as
``to_numpy(dtype=float64, na_value=nan)`` converts them (numeric strings included), booleans from a
bool or numeric dtype or from the words true/false/yes/no/1/0/t/f/y/n, anything else kept as given.
A record's values are read like an ``object`` column. So the same rows give identical features in
every form, and a bad value gets the same error, naming the column and row.

Why not pandas indexing: on a one-row frame, selecting a column costs ~10-25 µs and ``iat`` ~2.5 µs a
cell, which would be most of a prediction. A frame's columns are read by position from its blocks
(``DataFrame._get_column_array``, read-only), numeric columns of NumPy dtype are converted together,
and the records' values go through one object array: the cost per column is a few hundred
nanoseconds whatever the schema.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..data.dataset import Records, Schema
from ..errors import DataError

__all__ = ["Layout", "RawColumns", "read_columns", "column_positions", "check_frame_columns", "is_missing"]

# Modalities whose rows are arrays (flattened here) rather than table columns.
ARRAY_MODALITIES = ("image", "sequence")
_BOOLEAN_WORDS = {**dict.fromkeys(("true", "yes", "1", "1.0", "t", "y"), 1.0),
                  **dict.fromkeys(("false", "no", "0", "0.0", "f", "n"), 0.0)}


@dataclass(frozen=True)
class Layout:
    """Where each kind of feature column sits, fixed by the schema.

    ``names``: the feature columns in schema order (``x0..`` for images and sequences). ``numeric``:
    positions in ``names`` of the numeric and boolean columns, which share one block; ``boolean``: per
    entry of ``numeric``, whether it is read as true/false. ``categorical``, ``text``: positions in
    ``names``. ``input_positions``: where each name sits in the columns of a 2-D array input.
    ``shape``: the per-row shape of image and sequence rows, ``None`` for tables.
    """

    names: tuple[str, ...]
    numeric: tuple[int, ...]
    boolean: tuple[bool, ...]
    categorical: tuple[int, ...]
    text: tuple[int, ...]
    input_positions: tuple[int, ...]
    n_inputs: int
    input_names: tuple[str, ...]
    shape: tuple[int, ...] | None = None

    @classmethod
    def of(cls, schema: Schema) -> Layout:
        if schema.modality in ARRAY_MODALITIES:
            n = int(np.prod(schema.shape))
            names = tuple(f"x{i}" for i in range(n))
            return cls(names=names, numeric=tuple(range(n)), boolean=(False,) * n, categorical=(), text=(),
                       input_positions=tuple(range(n)), n_inputs=n, input_names=names, shape=tuple(schema.shape))
        names = tuple(schema.feature_names)
        kinds = [c.kind for c in schema.columns]
        numeric = tuple(i for i, k in enumerate(kinds) if k in ("numeric", "boolean"))
        inputs = tuple(schema.input_columns) or names
        where = {name: i for i, name in enumerate(inputs)}
        return cls(
            names=names, numeric=numeric, boolean=tuple(kinds[i] == "boolean" for i in numeric),
            categorical=tuple(i for i, k in enumerate(kinds) if k == "categorical"),
            text=tuple(i for i, k in enumerate(kinds) if k == "text"),
            input_positions=tuple(where.get(name, -1) for name in names), n_inputs=len(inputs), input_names=inputs,
        )


@dataclass
class RawColumns:
    """The feature columns of ``n_rows`` input rows, read but not yet prepared.

    ``numeric``: ``(n_rows, len(layout.numeric))`` float64, NaN where missing or infinite (empty when
    not asked for). ``values``: the raw values of each categorical column, then each text column, in
    layout order, as lists of length ``n_rows``.
    """

    n_rows: int
    numeric: np.ndarray
    values: list[list[Any]]


def read_columns(X: Any, layout: Layout, source: str, *, numeric: bool = True) -> RawColumns:
    """Read the feature columns of ``X`` (any form the module docstring lists); ``numeric=False``
    leaves the numeric block empty (the text view reads only the text columns)."""
    if layout.shape is not None:
        return _read_array_rows(X, layout, source)
    if isinstance(X, pd.DataFrame):
        positions = check_frame_columns(X, layout.names, source)
        get = _column_getter(X)
        return _from_arrays(lambda j: get(positions[layout.names[j]]), len(X), layout, source, numeric)
    if isinstance(X, (dict, Records)) or (isinstance(X, list) and X and isinstance(X[0], dict)):
        rows = [X] if isinstance(X, dict) else X.rows if isinstance(X, Records) else X
        return _from_matrix(_records_matrix(rows, layout, source), layout, source, numeric)
    if isinstance(X, np.ndarray):
        return _from_matrix(_array_matrix(X, layout, source), layout, source, numeric)
    arrow = sys.modules.get("pyarrow")  # an Arrow object means pyarrow is imported already
    if arrow is not None and isinstance(X, (arrow.Table, arrow.RecordBatch)):
        return _read_arrow(X, layout, source, numeric)
    raise DataError(f"{source}: cannot read a table from a {type(X).__name__}; expected a DataFrame, a dict "
                    "(column name → value), a list of dicts, a 2-D array or an Arrow Table or RecordBatch.")


# ---- input forms ---------------------------------------------------------------------------------
def check_frame_columns(X: pd.DataFrame, names: Sequence[str], source: str) -> dict[Any, int]:
    """Column name → position in ``X``; refuse a frame that lacks or repeats a feature column."""
    positions = column_positions(X)
    if len(positions) < X.shape[1]:
        wanted = set(names)
        repeated = sorted({str(n) for n in X.columns[X.columns.duplicated()] if n in wanted})
        if repeated:
            raise DataError(f"{source}: column(s) {', '.join(map(repr, repeated))} appear more than once; "
                            "each feature column must appear once.")
    missing = [name for name in names if name not in positions]
    if missing:
        raise _missing_columns(source, missing, names)
    return positions


def column_positions(X: pd.DataFrame) -> dict[Any, int]:
    """Column name → position of its first occurrence; cheaper than ``get_indexer`` on a few names."""
    positions: dict[Any, int] = {}
    for i, name in enumerate(_as_values(X.columns.array)):  # pandas' text Index: from its Arrow buffers
        positions.setdefault(name, i)
    return positions


def _column_getter(X: pd.DataFrame) -> Any:
    """The stored array of a frame's column by position, without building a Series.

    ``_get_column_array`` (pandas >= 1.3) hands back the block's own values, read-only; a pandas
    without it falls back to ``iloc``, which is correct but builds a Series per column.
    """
    getter = getattr(X, "_get_column_array", None)
    if getter is not None:
        return getter
    return lambda i: X.iloc[:, i].array


def _records_matrix(rows: Sequence[Any], layout: Layout, source: str) -> np.ndarray:
    """The feature values of records, ``(n_rows, n_features)`` object, columns in layout order."""
    names = layout.names
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise DataError(f"{source}: record {i} is a {type(row).__name__}; expected a dict of column name → value.")
    try:
        flat = np.fromiter((row[name] for row in rows for name in names), dtype=object, count=len(rows) * len(names))
    except KeyError:
        for i, row in enumerate(rows):
            missing = [name for name in names if name not in row]
            if missing:
                where = source if len(rows) == 1 else f"{source}: record {i}"
                raise _missing_columns(where, missing, names) from None
        raise
    return flat.reshape(len(rows), len(names))


def _array_matrix(X: np.ndarray, layout: Layout, source: str) -> np.ndarray:
    """The feature columns of a 2-D array (or one row) whose columns are the training table's."""
    array = X[None] if X.ndim == 1 else X
    if array.ndim != 2 or array.shape[1] != layout.n_inputs:
        width = array.shape[1] if array.ndim == 2 else array.shape[1:]
        shown = ", ".join(layout.input_names[:10]) + (" ..." if layout.n_inputs > 10 else "")
        raise DataError(f"X has {width} features, but LeptonModel is expecting {layout.n_inputs} features as input "
                        f"({source}; columns {shown}).")
    return array[:, list(layout.input_positions)]


def _read_arrow(X: Any, layout: Layout, source: str, numeric: bool) -> RawColumns:
    """An Arrow Table or RecordBatch: columns by name, each converted to NumPy once."""
    given = list(X.schema.names)
    if len(set(given)) < len(given):
        wanted = set(layout.names)
        repeated = sorted({n for n in given if given.count(n) > 1 and n in wanted})
        if repeated:
            raise DataError(f"{source}: column(s) {', '.join(map(repr, repeated))} appear more than once; "
                            "each feature column must appear once.")
    missing = [name for name in layout.names if name not in given]
    if missing:
        raise _missing_columns(source, missing, layout.names)
    return _from_arrays(lambda j: X.column(layout.names[j]).to_numpy(zero_copy_only=False), X.num_rows, layout,
                        source, numeric)


def _read_array_rows(X: Any, layout: Layout, source: str) -> RawColumns:
    """Images and sequences: rows of the trained shape, flattened."""
    array = np.asarray(X)
    assert layout.shape is not None
    if array.shape[1:] != layout.shape:
        raise DataError(f"{source}: expected rows of shape {layout.shape}, got {array.shape[1:]}.")
    flat = array.reshape(len(array), -1).astype(np.float64)
    return RawColumns(n_rows=len(array), numeric=np.where(np.isinf(flat), np.nan, flat), values=[])


def _missing_columns(where: str, missing: list[str], names: Sequence[str]) -> DataError:
    return DataError(f"{where}: missing column(s) {', '.join(map(repr, missing))} that the model was trained on. "
                     f"Expected columns: {', '.join(names)}.")


# ---- conversions ---------------------------------------------------------------------------------
def _from_arrays(column: Any, n_rows: int, layout: Layout, source: str, numeric: bool) -> RawColumns:
    """Columns handed out one by one (``column(j)`` for position ``j`` in ``layout.names``)."""
    block = np.empty((n_rows, len(layout.numeric) if numeric else 0))
    if numeric and layout.numeric:
        arrays = [column(j) for j in layout.numeric]
        plain = [k for k, a in enumerate(arrays) if isinstance(a, np.ndarray) and a.dtype.kind in "biuf"]
        if plain:  # one conversion for every column of a NumPy number or bool dtype
            block[:, plain] = np.array([arrays[k] for k in plain], dtype=np.float64).T
        rest = sorted(set(range(len(arrays))) - set(plain))
        numbers = [k for k in rest if not layout.boolean[k] or _is_numeric_array(arrays[k])]
        for k in numbers:
            block[:, k] = _number_column(arrays[k], layout.names[layout.numeric[k]], source)
        words = [k for k in rest if k not in set(numbers)]
        if words:
            block[:, words] = _booleans([_as_values(arrays[k]) for k in words],
                                        [layout.names[layout.numeric[k]] for k in words], source)
        block[np.isinf(block)] = np.nan
    values = [_as_values(column(j)) for j in (*layout.categorical, *layout.text)]
    return RawColumns(n_rows=n_rows, numeric=block, values=values)


def _from_matrix(M: np.ndarray, layout: Layout, source: str, numeric: bool) -> RawColumns:
    """Rows as one 2-D array (records, arrays), columns in layout order."""
    block = np.empty((len(M), len(layout.numeric) if numeric else 0))
    if numeric and layout.numeric:
        if M.dtype.kind in "biuf":
            block[:] = M[:, list(layout.numeric)]
        else:
            numbers = [k for k, b in enumerate(layout.boolean) if not b]
            words = [k for k, b in enumerate(layout.boolean) if b]
            if numbers:
                block[:, numbers] = _numbers(M[:, [layout.numeric[k] for k in numbers]],
                                             [layout.names[layout.numeric[k]] for k in numbers], source)
            if words:
                block[:, words] = _booleans(M[:, [layout.numeric[k] for k in words]].T.tolist(),
                                            [layout.names[layout.numeric[k]] for k in words], source)
        block[np.isinf(block)] = np.nan
    others = [*layout.categorical, *layout.text]
    values = M[:, others].T.tolist() if M.dtype == object else [list(M[:, j]) for j in others]
    return RawColumns(n_rows=len(M), numeric=block, values=values)


def _numbers(values: np.ndarray, names: list[str], source: str) -> np.ndarray:
    """Object or string columns ``(n, k)`` as float64, or the error naming the first bad value."""
    try:
        return _object_floats(values)
    except (ValueError, TypeError):
        return np.column_stack([_number_column(values[:, k], name, source) for k, name in enumerate(names)])


def _object_floats(values: np.ndarray) -> np.ndarray:
    """``float(v)`` per value, missing values (None, NaN, pd.NA, NaT) as NaN: ``to_numpy(float64, na_value=nan)``."""
    missing = pd.isna(values)
    if missing.any():
        values = np.where(missing, np.nan, values)
    return values.astype(np.float64)


def _number_column(values: Any, name: str, source: str) -> np.ndarray:
    """One column of any array type as float64; a value that is no number is an error naming it."""
    try:
        if isinstance(values, np.ndarray):
            return values.astype(np.float64) if values.dtype.kind in "biuf" else _object_floats(values)
        return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    except (ValueError, TypeError):
        pass
    cells = _as_values(values)
    for row, value in enumerate(cells):
        if not is_missing(value) and not _is_number(value):
            raise DataError(f"{source}: column {name!r} row {row}: expected a number, got {value!r}.") from None
    converted = pd.to_numeric(pd.Series(cells, dtype=object), errors="coerce")
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (ValueError, TypeError):
        return False
    return True


def _is_numeric_array(values: Any) -> bool:
    """A bool or number dtype: a boolean column of that dtype is read as its numbers."""
    if isinstance(values, np.ndarray):
        return values.dtype.kind in "biuf"
    if isinstance(values.dtype, pd.StringDtype):  # pandas' default for text: checked first, it is cheap
        return False
    return bool(pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values))


def _booleans(columns: list[list[Any]], names: list[str], source: str) -> np.ndarray:
    """Boolean columns of words (true/false, yes/no, 1/0, t/f, y/n in any case) as 0/1 floats, NaN
    where missing: ``(n_rows, len(columns))``, every cell looked up in one pass."""
    n_rows = len(columns[0])
    words = _BOOLEAN_WORDS
    flat = [words.get(v.strip().lower(), -1.0) if type(v) is str else _boolean_of(v) for c in columns for v in c]
    if -1.0 in flat:
        k, row = divmod(flat.index(-1.0), n_rows)
        raise DataError(f"{source}: column {names[k]!r} row {row}: expected true/false, got {columns[k][row]!r}.")
    return np.array(flat, dtype=np.float64).reshape(len(columns), n_rows).T


def _boolean_of(value: Any) -> float | None:
    """A cell of a boolean column that is not a ``str``: ``None`` when missing, -1.0 when no boolean."""
    if value is True or value is False:
        return float(value)
    if is_missing(value):
        return None
    return _BOOLEAN_WORDS.get(str(value).strip().lower(), -1.0)


def _as_values(values: Any) -> list[Any]:
    """The cells of a column as a list: objects as they are, other dtypes as NumPy scalars (so
    ``str`` gives what the column's dtype shows, ``0.1`` for a float32 0.1), Arrow strings as ``str``
    and categories as their values (``None`` where missing)."""
    if isinstance(values, np.ndarray):
        return values.tolist() if values.dtype == object else list(values)
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        # pandas' default text columns: straight from the Arrow buffers, ~6x cheaper than to_numpy.
        return list(values.__arrow_array__().to_pylist())
    if isinstance(values, pd.Categorical):
        categories = _as_values(values.categories.array)
        return [categories[code] if code >= 0 else None for code in values.codes.tolist()]
    return _as_values(np.asarray(values.to_numpy()))


def is_missing(value: Any) -> bool:
    """Whether one cell is a missing value (None, NaN, pd.NA, NaT); a list or array cell is not."""
    result = pd.isna(value)
    return isinstance(result, (bool, np.bool_)) and bool(result)
