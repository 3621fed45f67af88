"""Read files and in-memory objects into a DataFrame or arrays, with errors that name the source.

Nothing here guesses silently: a file that parses into one column while its header holds another
delimiter, a header with repeated names, or bytes that are not in the expected encoding are errors
that say what was found and what to pass instead.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError
from .npz import read_npz

__all__ = ["read_table", "read_npz", "normalize_columns", "refuse_unsupported", "TABLE_SUFFIXES", "PICKLE_SUFFIXES",
           "listed_columns"]

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".txt": ",", ".parquet": None, ".pq": None}
PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".bin"}
_OTHER_DELIMITERS = {",": "','", ";": "';'", "\t": "'\\t' (tab)", "|": "'|'"}


def read_table(path: Path, *, sep: str | None = None, encoding: str = "utf-8") -> pd.DataFrame:
    """Read a CSV, TSV or Parquet file into a DataFrame with unique string column names."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise DataError(f"{path}: cannot be read as Parquet ({exc}).") from exc
        return _check_frame(normalize_columns(frame, str(path)), str(path))
    delimiter = sep if sep is not None else TABLE_SUFFIXES.get(suffix, ",")
    assert delimiter is not None  # only Parquet suffixes map to None, and they returned above
    header = _read_header(path, delimiter, encoding)
    if len(header) == 1:  # before parsing: decimal commas in a ';' file would fail as "malformed"
        _refuse_other_delimiter(path, header[0], delimiter)
    _check_field_counts(path, header, delimiter, encoding)
    try:
        frame = pd.read_csv(path, sep=delimiter, encoding=encoding, low_memory=False)
    except UnicodeDecodeError as exc:
        raise DataError(_decode_error_message(path, encoding)) from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: malformed table ({_first_line(exc)}).") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: the file has no header and no rows.") from exc
    frame.columns = header if len(header) == frame.shape[1] else frame.columns
    return _check_frame(normalize_columns(frame, str(path)), str(path))


def normalize_columns(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Give every column a string name and refuse repeated names."""
    if frame.columns.is_unique and frame.columns.inferred_type == "string":
        return frame  # the common case, checked without walking the columns (wide one-row frames)
    names = [str(c) for c in frame.columns]
    repeated = sorted(n for n, count in Counter(names).items() if count > 1) if len(set(names)) < len(names) else []
    if repeated:
        raise DataError(f"{source}: column names repeat: {', '.join(map(repr, repeated))}. Rename them.")
    if names != list(frame.columns):
        frame = frame.set_axis(names, axis=1)
    return frame


def listed_columns(frame: pd.DataFrame) -> str:
    """The table's column names for an error message (the first 40)."""
    return ", ".join(map(str, frame.columns[:40])) + (" ..." if frame.shape[1] > 40 else "")


def refuse_unsupported(path: Path) -> None:
    """Raise a clear error for a path lepton-ai will not read."""
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise DataError(
            f"{path}: '{suffix}' files are pickles or torch checkpoints; lepton-ai never loads those "
            "because they can run code. Use CSV, TSV, Parquet or .npz."
        )
    raise DataError(
        f"{path}: unsupported file type '{suffix or '(none)'}'. Expected one of: "
        ".csv, .tsv, .parquet, .npz, a folder of Parquet files, or a folder of images with one sub-folder per class."
    )


def _read_header(path: Path, delimiter: str, encoding: str) -> list[str]:
    """Return the header fields exactly as written (pandas renames repeats to 'a.1')."""
    try:
        with path.open("r", encoding=encoding, newline="") as handle:
            first = handle.readline()
            if not first:
                raise DataError(f"{path}: the file is empty.")
            # Excel's "CSV UTF-8" starts with a byte-order mark, which pandas drops but readline keeps.
            first = first.removeprefix("\ufeff")
            row = next(csv.reader(io.StringIO(first), delimiter=delimiter))
    except UnicodeDecodeError as exc:
        raise DataError(_decode_error_message(path, encoding)) from exc
    names = [name.strip() for name in row]
    if not any(names):
        raise DataError(f"{path}: the first line is blank; expected a header of column names.")
    repeated = sorted(n for n, count in Counter(names).items() if count > 1)
    if repeated:
        raise DataError(f"{path}: column names repeat in the header: {', '.join(map(repr, repeated))}.")
    return names


def _check_field_counts(path: Path, header: list[str], delimiter: str, encoding: str) -> None:
    """Refuse a row with more or fewer fields than the header, naming its line.

    pandas pads a short row with missing values and reads rows one field longer than the header
    as an index column, both silently. pyarrow's parser counts every row's fields in C++ (only the
    first column is converted, as raw bytes, so memory stays at one block); only when a row is bad
    is the file walked again with :mod:`csv`, whose ``line_num`` gives the line an editor shows
    (pyarrow numbers rows, skipping blank lines and counting a quoted multi-line value once).
    """
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    if len(delimiter) != 1:
        return  # a regular-expression separator goes to pandas' python engine, which pyarrow cannot mimic
    names = [f"f{i}" for i in range(len(header))]
    # No invalid_row_handler: pyarrow may call a Python handler from its own threads after an
    # error has ended the read, which crashes the interpreter. Its error names the counts instead.
    try:
        pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1, encoding=encoding, use_threads=False),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pa_csv.ConvertOptions(include_columns=names[:1], column_types={names[0]: pa.binary()}),
        )
    except (pa.ArrowException, UnicodeError, LookupError) as exc:
        counts = _FIELD_COUNT.search(str(exc))
        if counts is None:
            return  # not a field-count problem: the pandas read that follows reports it in its own terms
        raise DataError(_field_count_message(path, header, delimiter, encoding,
                                             _BadRow(number=None, actual_columns=int(counts.group(1))))) from None


# pyarrow's message for a row with the wrong number of fields: "Expected 3 columns, got 2: ...".
_FIELD_COUNT = re.compile(r"Expected \d+ columns, got (\d+)")


@dataclass(frozen=True)
class _BadRow:
    """Where pyarrow found a row with the wrong number of fields (its row number, 1-based; its count)."""

    number: int | None
    actual_columns: int


def _field_count_message(path: Path, header: list[str], delimiter: str, encoding: str, row: _BadRow) -> str:
    expected = len(header)
    where, got = f"row {row.number}" if row.number is not None else "a row", row.actual_columns
    try:
        with path.open("r", encoding=encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            next(reader)  # the header
            start = reader.line_num + 1
            for fields in reader:
                if fields and len(fields) != expected:
                    where, got = f"line {start}", len(fields)
                    break
                start = reader.line_num + 1
    except (csv.Error, UnicodeError) as exc:  # e.g. a field over csv.field_size_limit: keep pyarrow's row
        where = f"{where} ({exc})"
    shown = ", ".join(header[:8]) + (" ..." if expected > 8 else "")
    return (f"{path}: {where} has {got} field{'s' if got != 1 else ''}, expected {expected} (the header's {shown}). "
            f"Fix that row; a value that holds the delimiter {delimiter!r} must be quoted.")


def _refuse_other_delimiter(path: Path, header: str, delimiter: str) -> None:
    for other, shown in _OTHER_DELIMITERS.items():
        if other != delimiter and header.count(other) >= 1:
            raise DataError(
                f"{path}: read as one column {header[:60]!r} with delimiter {delimiter!r}, but the "
                f"header contains {shown}. Pass sep={other!r} (CLI: --sep)."
            )


def _decode_error_message(path: Path, encoding: str) -> str:
    raw = path.read_bytes()
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return (
            f"{path}: line {line} is not valid {encoding} (byte 0x{raw[exc.start]:02x}). "
            "Save the file as UTF-8, or give its encoding: encoding='latin-1' (lepton train --encoding latin-1)."
        )
    return f"{path}: cannot be decoded as {encoding}."


def _check_frame(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    if frame.shape[1] == 0:
        raise DataError(f"{source}: no columns were found.")
    if len(frame) == 0:
        raise DataError(f"{source}: has a header ({', '.join(frame.columns[:8])}) but no data rows.")
    return frame


def _first_line(exc: Any) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
