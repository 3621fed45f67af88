"""Date and time columns: which text columns hold dates, in what format, and reading their values.

A column is a date column when it has a datetime or period dtype (pandas, NumPy or Arrow;
``datetime.date`` values too; a period is read as the instant it starts), or when its text values
look like dates (``2024-01-31``, ``31/01/2024 14:05``, ``Jan 31, 2024``, ``2024-01-31T14:05:00Z``, a
month ``2024-01``...): at least :data:`DATE_FRACTION` of a sample of them
has a date's shape and parses in one format. The format is chosen once, from the training rows, and
kept in the schema (``Column.format``), so a row given later is read the way the training rows were
(``01/02/2024`` stays 1 February when the column was day-first). A value the format does not fit is
read as any date pandas recognises (ISO 8601 first), and one that is no date at all is an error
naming the column and row, as a number column's text is.

Values become ``datetime64[us]``, naive: a time with an offset (``+05:00``, ``Z``) is converted to
UTC, a time without one is taken as it is. Parsing uses pandas (``to_datetime`` with the kept
format); a handful of cells (one request's rows) are read with ``datetime.strptime`` instead, which
gives the same instant at a few microseconds a cell instead of pandas' ~80 µs a call.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError

__all__ = ["DATE_FRACTION", "DateGuess", "guess_dates", "is_datetime_values", "parse_or_missing", "to_datetimes"]

# A text column is a date column when at least this share of its sampled values are dates (the
# rest are stray tokens, read as missing values with a warning, as for numbers).
DATE_FRACTION = 0.95
# How many present values are looked at to decide (evenly spaced over the column).
_SAMPLE = 500
# Fewer cells than this are read one by one (``strptime``); more go through pandas at once.
_FEW_CELLS = 32
_UNIT = "datetime64[us]"
_NAT = np.datetime64("NaT", "us")
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?\s*(?:[AaPp]\.?[Mm]\.?)?\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})?)?"
_MONTH = r"[A-Za-z]{3,9}\.?"
_DATE_SHAPE = re.compile(
    r"^\s*(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"  # 2024-01-31, 2024/1/31
    r"|\d{4}-\d{2}(?=\s*$)"  # 2024-01, a month
    r"|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})"  # 31/01/2024, 1-31-24
    rf"|\d{{1,2}}[ -]{_MONTH}[ -,]*\d{{4}}"  # 31 Jan 2024, 31-Jan-2024
    rf"|{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}"  # Jan 31, 2024
    rf"){_TIME}\s*$")


@dataclass(frozen=True)
class DateGuess:
    """A text column read as dates: the ``strptime`` format that fits its values (``None``: no one
    format fits them all, each is parsed as pandas recognises it)."""

    format: str | None


def is_datetime_values(present: pd.Series) -> bool:
    """Whether the non-missing values of a column are datetimes (or periods: months, quarters) by their
    dtype or their Python type."""
    if pd.api.types.is_datetime64_any_dtype(present) or isinstance(present.dtype, pd.PeriodDtype):
        return True
    if present.dtype != object or not len(present):
        return False
    return all(isinstance(v, (dt.date, np.datetime64)) for v in present.iloc[:_SAMPLE].tolist())


def guess_dates(present: pd.Series) -> DateGuess | None:
    """How to read the text column whose non-missing values are ``present``, or ``None`` when it holds
    no dates (fewer than :data:`DATE_FRACTION` of a sample have a date's shape and parse)."""
    if not len(present):
        return None
    step = max(1, len(present) // _SAMPLE)
    sample = present.iloc[::step].iloc[:_SAMPLE].astype(str).tolist()
    shaped = [v for v in sample if _DATE_SHAPE.match(v)]
    if len(shaped) < DATE_FRACTION * len(sample):
        return None
    best, best_share = None, 0.0
    for candidate in _formats(shaped):
        share = float(_parse_all(pd.Series(shaped, dtype=object), candidate).notna().mean())
        if share > best_share:
            best, best_share = candidate, share
    if best is not None and best_share * len(shaped) >= DATE_FRACTION * len(sample):
        return DateGuess(format=best)
    if float(parse_or_missing(shaped, None).notna().mean()) * len(shaped) >= DATE_FRACTION * len(sample):
        return DateGuess(format=None)
    return None


def to_datetimes(values: Any, fmt: str | None, name: str, source: str) -> np.ndarray:
    """The values of date column ``name`` as naive ``datetime64[us]`` (UTC for times with an offset),
    NaT where missing; a value that is no date is a DataError naming the column and row.

    ``values``: a NumPy array (datetime64 or object), a pandas array (datetimes, with a time zone or
    not, text), or a list of cells (str, ``datetime``, ``date``, ``pd.Timestamp``, ``np.datetime64``,
    missing values).
    """
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        return values.astype(_UNIT)
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.array
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.PeriodDtype):  # a month, a quarter...: the instant it starts
        values, dtype = values.to_timestamp(), np.dtype("datetime64[ns]")
    if isinstance(dtype, pd.DatetimeTZDtype):
        return np.asarray(values.tz_convert("UTC").tz_localize(None).to_numpy(), dtype=_UNIT)
    if dtype is not None and pd.api.types.is_datetime64_dtype(dtype):
        return np.asarray(values.to_numpy(), dtype=_UNIT)
    cells = values.tolist() if hasattr(values, "tolist") else list(values)
    if pd.Period in set(map(type, cells)):  # periods one by one (records, object columns): their start
        cells = [v.to_timestamp() if type(v) is pd.Period else v for v in cells]
    if len(cells) <= _FEW_CELLS:
        return np.array([_cell(v, fmt, name, source, row) for row, v in enumerate(cells)], dtype=_UNIT)
    for row in _not_text_or_dates(cells):  # pandas would read a number as an epoch time: none is a date
        raise _not_a_date(cells[row], fmt, name, source, row)
    series = pd.Series(cells, dtype=object)
    parsed = parse_or_missing(series, fmt)
    bad = np.flatnonzero(parsed.isna().to_numpy() & series.notna().to_numpy())
    if len(bad):
        raise _not_a_date(cells[bad[0]], fmt, name, source, int(bad[0]))
    return parsed.dt.tz_localize(None).to_numpy(dtype=_UNIT)


def parse_or_missing(values: Any, fmt: str | None) -> pd.Series:
    """``values`` (a Series or a list) as UTC datetimes, NaT where missing or no date: by ``fmt``,
    then, for the values it does not fit, as ISO 8601, then as any layout pandas (dateutil) reads,
    which is the slow one: a value at a time."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    present = series.notna().to_numpy()
    parsed = None
    for layout in (fmt, "ISO8601", "mixed"):
        if layout is None:
            continue
        if parsed is None:
            parsed = _parse_all(series, layout)
            continue
        failed = parsed.isna().to_numpy() & present
        if not failed.any():
            break
        parsed[failed] = _parse_all(series[failed], layout)
    assert parsed is not None
    return parsed


# ---- internals --------------------------------------------------------------------------------
_DATE_CELLS = (str, dt.date, np.datetime64, type(None))


def _not_text_or_dates(cells: list[Any]) -> list[int]:
    """Rows of the cells that are neither text, a date nor a missing value."""
    if all(issubclass(t, _DATE_CELLS) for t in set(map(type, cells))):
        return []
    return [row for row, v in enumerate(cells)
            if not isinstance(v, _DATE_CELLS) and not (v is pd.NaT or v is pd.NA or (isinstance(v, float) and v != v))]


def _formats(shaped: list[str]) -> list[str]:
    """Candidate formats: pandas' guess for the first values, month-first then day-first."""
    from pandas.tseries.api import guess_datetime_format

    found: list[str] = []
    for value in shaped[:20]:
        for dayfirst in (False, True):
            with warnings.catch_warnings():  # "parsing dates in %d/%m/%Y format when dayfirst=False": asked
                warnings.simplefilter("ignore", UserWarning)
                fmt = guess_datetime_format(value.strip(), dayfirst=dayfirst)
            if fmt is not None and fmt not in found:
                found.append(fmt)
    return found


def _parse_all(values: Any, fmt: str) -> pd.Series:
    """``values`` parsed as UTC datetimes with ``fmt`` (a ``strptime`` format, "ISO8601" or "mixed"),
    NaT where missing or not a date in that layout."""
    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    texts = series.map(lambda v: v.strip() if isinstance(v, str) else v)
    with warnings.catch_warnings():  # "could not infer format": parsing each value is what is asked
        warnings.simplefilter("ignore", UserWarning)
        try:
            return pd.to_datetime(texts, format=fmt, errors="coerce", utc=True)
        except (ValueError, TypeError, OverflowError):
            return pd.Series([_one(v, fmt) for v in texts], index=series.index, dtype="datetime64[us, UTC]")


def _one(value: Any, fmt: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            return pd.to_datetime(value, format=fmt, errors="coerce", utc=True)
        except (ValueError, TypeError, OverflowError):
            return pd.NaT


def _cell(value: Any, fmt: str | None, name: str, source: str, row: int) -> np.datetime64:
    """One cell as ``datetime64[us]``: a str by ``strptime`` with ``fmt`` (pandas when that fails)."""
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value):
        return _NAT
    if isinstance(value, dt.datetime):  # pd.Timestamp included
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return np.datetime64(value.replace(tzinfo=None), "us")
    if isinstance(value, dt.date):
        return np.datetime64(value, "us")
    if isinstance(value, np.datetime64):
        return value.astype(_UNIT)
    if isinstance(value, str) and fmt is not None:
        try:
            return _cell(dt.datetime.strptime(value.strip(), fmt), None, name, source, row)
        except ValueError:
            pass
    if not isinstance(value, str):  # a number or any other object is no date
        raise _not_a_date(value, fmt, name, source, row)
    parsed = parse_or_missing([value], fmt).iloc[0]  # the same layouts, in the same order, as many cells
    if parsed is pd.NaT:
        raise _not_a_date(value, fmt, name, source, row)
    return np.datetime64(parsed.tz_localize(None).to_datetime64(), "us")


def _not_a_date(value: Any, fmt: str | None, name: str, source: str, row: int) -> DataError:
    layout = f" (the training rows' format is {fmt})" if fmt else ""
    return DataError(f"{source}: column {name!r} row {row}: expected a date{layout}, got {value!r}.")
