"""Read any table input into the raw columns preparation starts from, without per-call pandas indexing.

A table reaches preparation as a DataFrame, a record (``dict``), a list of records (or
:class:`~lepton_ai.data.dataset.Records`), a NumPy row or 2-D array whose columns are the training
table's (``Schema.input_columns``), or an Arrow Table or RecordBatch; images and sequences as an array
of rows. :func:`read_columns` turns each into :class:`RawColumns`: the numeric and boolean columns, then
the calendar parts of the date columns (features/calendar.py), as one float64 block (missing and
infinite values NaN) and the values of the categorical and text columns as lists, all in schema order.

Every form is read by the same rules, those of a DataFrame column: numbers as
``to_numpy(dtype=float64, na_value=nan)`` converts them (numeric strings included), booleans from a
bool or numeric dtype or from the words true/false/yes/no/1/0/t/f/y/n, dates from a datetime dtype or
from text in the column's format (``data.dates``), anything else kept as given.
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from ..data.dataset import Records, Schema
from ..data.dates import to_datetimes
from ..errors import DataError
from .calendar import calendar_parts, part_names

__all__ = ["Layout", "RawColumns", "read_columns", "column_positions", "check_frame_columns", "is_missing"]

# Modalities whose rows are arrays (flattened here) rather than table columns.
ARRAY_MODALITIES = ("image", "sequence")
# pandas' Arrow-backed text array (the default ``str`` dtype in pandas 3): its chunks are read directly.
_ARROW_STRINGS = getattr(pd.arrays, "ArrowStringArray", None)
_BOOLEAN_WORDS = {**dict.fromkeys(("true", "yes", "1", "1.0", "t", "y"), 1.0),
                  **dict.fromkeys(("false", "no", "0", "0.0", "f", "n"), 0.0)}


@dataclass(frozen=True)
class Layout:
    """Where each kind of feature column sits, fixed by the schema (index arrays built once, so a
    read does no per-column Python work it can avoid).

    ``names``: the feature columns in schema order (``x0..`` for images and sequences). ``numeric``:
    positions in ``names`` of the numeric and boolean columns, which share one block;
    ``numbers``/``words``: the entries of ``numeric`` read as numbers and as true/false words.
    ``others``: positions in ``names`` of the categorical columns (the first ``n_categorical``), then
    the text columns. ``dates``: positions in ``names`` of the date columns, read as the calendar
    parts that follow the numeric columns in the block; ``date_formats``: each one's format
    (``Column.format``). ``input_positions``: where each name sits among the ``input_names``, the
    columns of a 2-D array input. ``pick``: the feature values of a record, as a tuple in ``names``
    order. ``shape``: the per-row shape of image and sequence rows, ``None`` for tables.
    """

    names: tuple[str, ...]
    numeric: np.ndarray
    numbers: np.ndarray
    words: np.ndarray
    others: np.ndarray
    n_categorical: int
    input_positions: np.ndarray
    input_names: tuple[str, ...]
    pick: Callable[[Any], tuple[Any, ...]]
    shape: tuple[int, ...] | None = None
    dates: np.ndarray = field(default_factory=lambda: _indexes([]))
    date_formats: tuple[str | None, ...] = ()

    @classmethod
    def of(cls, schema: Schema) -> Layout:
        if schema.modality in ARRAY_MODALITIES:
            names = tuple(f"x{i}" for i in range(int(np.prod(schema.shape))))
            kinds = ["numeric"] * len(names)
            inputs = names
        else:
            names, kinds = tuple(schema.feature_names), [c.kind for c in schema.columns]
            inputs = tuple(schema.input_columns) or names
        numeric = [i for i, k in enumerate(kinds) if k in ("numeric", "boolean")]
        where = {name: i for i, name in enumerate(inputs)}
        categorical = [i for i, k in enumerate(kinds) if k == "categorical"]
        return cls(
            names=names, numeric=_indexes(numeric),
            numbers=_indexes([e for e, i in enumerate(numeric) if kinds[i] == "numeric"]),
            words=_indexes([e for e, i in enumerate(numeric) if kinds[i] == "boolean"]),
            others=_indexes(categorical + [i for i, k in enumerate(kinds) if k == "text"]),
            n_categorical=len(categorical), input_positions=_indexes([where[name] for name in names]),
            input_names=inputs, pick=_picker(names),
            shape=tuple(schema.shape) if schema.modality in ARRAY_MODALITIES else None,
            dates=_indexes([i for i, k in enumerate(kinds) if k == "date"]),
            date_formats=tuple(c.format for c in schema.columns if c.kind == "date"),
        )

    @property
    def numeric_names(self) -> list[str]:
        return [self.names[i] for i in self.numeric]

    @property
    def date_names(self) -> list[str]:
        return [self.names[i] for i in self.dates]

    @property
    def block_names(self) -> list[str]:
        """The columns of the numeric block: the numeric and boolean columns, then the calendar parts."""
        return self.numeric_names + [name for column in self.date_names for name in part_names(column)]


def _indexes(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def _picker(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """``operator.itemgetter`` over ``names`` that gives a tuple for one name too."""
    if len(names) == 1:
        name = names[0]
        return lambda row: (row[name],)
    return itemgetter(*names)


@dataclass
class RawColumns:
    """The feature columns of ``n_rows`` input rows, read but not yet prepared.

    ``numeric``: ``(n_rows, len(layout.block_names))`` float64, NaN where missing or infinite (empty
    when not asked for): the numeric and boolean columns, then the date columns' calendar parts.
    ``values``: the raw values of each categorical column, then each text column, in layout order,
    as lists of length ``n_rows``.
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
        return _read_frame(X, layout, source, numeric)
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
    """Column name → position of its first occurrence; cheaper than ``get_indexer`` on a few names.

    The answer for the last columns Index seen is kept: one-row frames sliced from one table
    (``frame.iloc[[i]]``) share their Index object, which pandas never changes in place. The kept
    Index is held, so its identity cannot pass to another object.
    """
    columns = X.columns
    last = _LAST_POSITIONS
    if last[0] is columns:
        return last[1]
    names = _as_values(columns.array)  # pandas' text Index: straight from its Arrow buffers
    positions = dict(zip(names, range(len(names)), strict=True))
    if len(positions) < len(names):  # repeated names: the first occurrence counts
        positions = {}
        for i, name in enumerate(names):
            positions.setdefault(name, i)
    globals()["_LAST_POSITIONS"] = (columns, positions)  # one assignment: threads see the old or the new pair
    return positions


_LAST_POSITIONS: tuple[Any, dict[Any, int]] = (None, {})


def _read_frame(X: pd.DataFrame, layout: Layout, source: str, numeric: bool) -> RawColumns:
    """A DataFrame: feature columns found by name once, read by position from pandas' blocks."""
    positions = column_positions(X)
    if len(positions) < X.shape[1]:
        check_frame_columns(X, layout.names, source)  # names a repeated feature column
    try:
        where = np.asarray(layout.pick(positions), dtype=np.int64)
    except KeyError:
        raise _missing_columns(source, [n for n in layout.names if n not in positions], layout.names) from None
    get, at = _column_getter(X), where.tolist()
    return _from_arrays(lambda j: get(at[j]), len(X), layout, source, numeric,
                        fill=lambda block: _fill_from_blocks(X, where[layout.numeric], block))


def _column_getter(X: pd.DataFrame) -> Any:
    """The stored array of a frame's column by position, without building a Series.

    Read from the block manager (each block's own values, as ``_get_column_array`` hands them out,
    without its per-call checks: ~0.1 µs a column instead of ~0.4); a pandas without block managers
    falls back to ``_get_column_array`` (pandas >= 1.3), then to ``iloc``, which is correct but
    builds a Series per column.
    """
    try:
        manager = X._mgr
        numbers, places, blocks = manager.blknos.tolist(), manager.blklocs.tolist(), manager.blocks
    except AttributeError:
        getter = getattr(X, "_get_column_array", None)
        if getter is not None:
            return getter
        return lambda i: X.iloc[:, i].array

    def get(i: int) -> Any:
        values = blocks[numbers[i]].values
        return values if values.ndim == 1 else values[places[i]]

    return get


def _fill_from_blocks(X: pd.DataFrame, positions: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Copy into ``block`` the columns at frame ``positions`` that pandas stores in 2-D blocks of
    NumPy numbers or bools; return which entries were filled. A block holding several of them is
    copied at once (a frame built in one go keeps all its float64 columns in one block); columns
    alone in their block (``read_csv``, ``drop`` and column assignment leave those) are gathered
    into one conversion. A pandas without block managers fills none."""
    filled = np.zeros(len(positions), dtype=bool)
    try:
        manager = X._mgr
        numbers, places, blocks = manager.blknos[positions], manager.blklocs[positions], manager.blocks
    except AttributeError:
        return filled
    listed, at = numbers.tolist(), places.tolist()
    plain = {n: values for n in set(listed) if _is_plain_block(values := blocks[n].values)}
    counts = np.bincount(numbers).tolist()
    for number in [n for n in plain if counts[n] > 1]:
        entries = np.flatnonzero(numbers == number)
        block[:, entries] = plain[number][places[entries]].T
        filled[entries] = True
    singles = [k for k, n in enumerate(listed) if counts[n] == 1 and n in plain]
    if singles:
        block[:, singles] = np.array([plain[listed[k]][at[k]] for k in singles], dtype=np.float64).T
        filled[singles] = True
    return filled


def _is_plain_block(values: Any) -> bool:
    return isinstance(values, np.ndarray) and values.ndim == 2 and values.dtype.kind in "biuf"


def _records_matrix(rows: Sequence[Any], layout: Layout, source: str) -> np.ndarray:
    """The feature values of records, ``(n_rows, n_features)`` object, columns in layout order."""
    n = len(layout.names)
    try:
        flat = np.fromiter(chain.from_iterable(map(layout.pick, rows)), dtype=object, count=len(rows) * n)
    except (KeyError, TypeError):
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise DataError(f"{source}: record {i} is a {type(row).__name__}; expected a dict of column "
                                "name → value.") from None
            missing = [name for name in layout.names if name not in row]
            if missing:
                where = source if len(rows) == 1 else f"{source}: record {i}"
                raise _missing_columns(where, missing, layout.names) from None
        raise
    return flat.reshape(len(rows), n)


def _array_matrix(X: np.ndarray, layout: Layout, source: str) -> np.ndarray:
    """The feature columns of a 2-D array (or one row) whose columns are the training table's."""
    array = X[None] if X.ndim == 1 else X
    n_inputs = len(layout.input_names)
    if array.ndim != 2 or array.shape[1] != n_inputs:
        width = array.shape[1] if array.ndim == 2 else array.shape[1:]
        shown = ", ".join(layout.input_names[:10]) + (" ..." if n_inputs > 10 else "")
        raise DataError(f"X has {width} features, but LeptonModel is expecting {n_inputs} features as input "
                        f"({source}; columns {shown}).")
    if array.dtype.kind in "US":  # NumPy strings: read as Python str, like an object column
        array = array.astype(object)
    return array[:, layout.input_positions]


def _read_arrow(X: Any, layout: Layout, source: str, numeric: bool) -> RawColumns:
    """An Arrow Table or RecordBatch: columns found by name, each converted to NumPy once."""
    given = list(X.schema.names)
    positions = dict(zip(given, range(len(given)), strict=True))
    if len(positions) < len(given):
        wanted = set(layout.names)
        repeated = sorted({n for n in given if given.count(n) > 1 and n in wanted})
        if repeated:
            raise DataError(f"{source}: column(s) {', '.join(map(repr, repeated))} appear more than once; "
                            "each feature column must appear once.")
        positions = {name: given.index(name) for name in positions}
    try:
        where = layout.pick(positions)
    except KeyError:
        raise _missing_columns(source, [n for n in layout.names if n not in positions], layout.names) from None
    return _from_arrays(lambda j: X.column(where[j]).to_numpy(zero_copy_only=False), X.num_rows, layout,
                        source, numeric)


def _read_array_rows(X: Any, layout: Layout, source: str) -> RawColumns:
    """Images and sequences: rows of the trained shape, flattened."""
    array = np.asarray(X)
    assert layout.shape is not None  # only images and sequences come here
    if array.shape[1:] != layout.shape:
        raise DataError(f"{source}: expected rows of shape {layout.shape}, got {array.shape[1:]}.")
    flat = array.reshape(len(array), -1).astype(np.float64)
    return RawColumns(n_rows=len(array), numeric=np.where(np.isinf(flat), np.nan, flat), values=[])


def _missing_columns(where: str, missing: list[str], names: Sequence[str]) -> DataError:
    return DataError(f"{where}: missing column(s) {', '.join(map(repr, missing))} that the model was trained on. "
                     f"Expected columns: {', '.join(names)}.")


# ---- conversions ---------------------------------------------------------------------------------
def _from_arrays(column: Callable[[int], Any], n_rows: int, layout: Layout, source: str, numeric: bool,
                 fill: Callable[[np.ndarray], np.ndarray] | None = None) -> RawColumns:
    """Columns handed out one by one (``column(j)`` for position ``j`` in ``layout.names``);
    ``fill(block)``, when given, fills some numeric entries first and returns a mask of which."""
    block = np.empty((n_rows, len(layout.numeric) if numeric else 0))
    if numeric and len(layout.numeric):
        filled = fill(block) if fill is not None else np.zeros(len(layout.numeric), dtype=bool)
        if not filled.all():
            _fill_one_by_one(block, [int(k) for k in np.flatnonzero(~filled)], column, layout, source)
        block[np.isinf(block)] = np.nan
    if numeric and len(layout.dates):
        block = _with_dates(block, [column(int(j)) for j in layout.dates], layout, source)
    return RawColumns(n_rows=n_rows, numeric=block, values=[_as_values(column(j)) for j in layout.others])


def _with_dates(block: np.ndarray, dates: list[Any], layout: Layout, source: str) -> np.ndarray:
    """The numeric ``block`` followed by the calendar parts of each date column's values."""
    parts = [calendar_parts(to_datetimes(values, fmt, name, source))
             for values, fmt, name in zip(dates, layout.date_formats, layout.date_names, strict=True)]
    return np.hstack([block, *parts])


def _fill_one_by_one(block: np.ndarray, entries: list[int], column: Callable[[int], Any], layout: Layout,
                     source: str) -> None:
    """The numeric entries no block copy could fill: NumPy number columns converted together, the
    others (objects, strings, pandas extension arrays) one at a time."""
    arrays = {k: column(int(layout.numeric[k])) for k in entries}
    plain = [k for k, a in arrays.items() if isinstance(a, np.ndarray) and a.dtype.kind in "biuf"]
    if plain:
        block[:, plain] = np.array([arrays[k] for k in plain], dtype=np.float64).T
    booleans = set(layout.words.tolist())
    words = []
    for k in sorted(set(arrays) - set(plain)):
        if k in booleans and not _is_numeric_array(arrays[k]):
            words.append(k)
        else:
            block[:, k] = _number_column(arrays[k], layout.names[layout.numeric[k]], source)
    if words:
        block[:, words] = _booleans([_as_values(arrays[k]) for k in words],
                                    [layout.names[layout.numeric[k]] for k in words], source)


def _from_matrix(M: np.ndarray, layout: Layout, source: str, numeric: bool) -> RawColumns:
    """Rows as one 2-D array (records, arrays), columns in layout order."""
    if not numeric:
        block = np.empty((len(M), 0))
    elif M.dtype.kind in "biuf":
        block = M[:, layout.numeric].astype(np.float64)
    else:
        block = np.empty((len(M), len(layout.numeric)))
        names = layout.numeric_names
        if len(layout.numbers):
            block[:, layout.numbers] = _numbers(M[:, layout.numeric[layout.numbers]],
                                                [names[k] for k in layout.numbers], source)
        if len(layout.words):
            block[:, layout.words] = _booleans(M[:, layout.numeric[layout.words]].T.tolist(),
                                               [names[k] for k in layout.words], source)
    if block.size:
        block[np.isinf(block)] = np.nan
    if numeric and len(layout.dates):
        block = _with_dates(block, [M[:, j] for j in layout.dates], layout, source)
    values = M[:, layout.others].T.tolist() if M.dtype == object else [list(M[:, j]) for j in layout.others]
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
    if type(values) is _ARROW_STRINGS:
        return False
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
    if type(values) is _ARROW_STRINGS:  # pandas' default text columns: straight from the Arrow buffers
        chunks = values._pa_array
        return chunks.chunk(0).to_pylist() if chunks.num_chunks == 1 else chunks.to_pylist()
    if isinstance(values, np.ndarray):
        return values.tolist() if values.dtype == object else list(values)
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":  # ~6x cheaper than to_numpy
        return values.__arrow_array__().to_pylist()
    if isinstance(values, pd.Categorical):
        categories = _as_values(values.categories.array)
        return [categories[code] if code >= 0 else None for code in values.codes.tolist()]
    return _as_values(np.asarray(values.to_numpy()))


def is_missing(value: Any) -> bool:
    """Whether one cell is a missing value (None, NaN, pd.NA, NaT); a list or array cell is not."""
    result = pd.isna(value)
    return isinstance(result, (bool, np.bool_)) and bool(result)
