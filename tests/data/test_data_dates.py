"""Date columns: which columns hold dates, in what format, reading their values, and the stray
tokens of a mostly-date column."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from lepton_ai.data.dates import guess_dates, to_datetimes
from lepton_ai.data.load import load_data
from lepton_ai.errors import DataError


def _stamps(n: int, seed: int = 0) -> pd.DatetimeIndex:
    rng = np.random.default_rng(seed)
    return pd.DatetimeIndex(pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, 800 * 1440, n), unit="min"))


@pytest.mark.parametrize("fmt", ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y", "%m/%d/%Y %H:%M", "%d %b %Y",
                                 "%b %d, %Y", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y", "%Y-%m"])
def test_the_format_of_a_date_column_is_found_and_reads_every_value_back(fmt):
    stamps = _stamps(300)
    text = pd.Series(stamps.strftime(fmt))
    guess = guess_dates(text)
    assert guess is not None and guess.format is not None
    read = to_datetimes(text.to_numpy(dtype=object), guess.format, "when", "t.csv")
    expected = pd.to_datetime(text, format=fmt).to_numpy(dtype="datetime64[us]")
    np.testing.assert_array_equal(read, expected)


def test_day_first_dates_are_read_day_first_when_the_column_says_so():
    stamps = _stamps(200)
    text = pd.Series(stamps.strftime("%d/%m/%Y"))  # days past 12 only fit day-first
    guess = guess_dates(text)
    assert guess is not None and guess.format == "%d/%m/%Y"
    assert to_datetimes(["01/02/2024"], guess.format, "when", "t")[0] == np.datetime64("2024-02-01")


@pytest.mark.parametrize("values", [
    ["north", "south", "east"] * 20,  # categories
    ["1-2", "3-4", "5-6"] * 20,  # ranges
    ["v1.2.3", "v1.10.0"] * 20,  # versions
    ["the film was good", "a bad day"] * 20,  # words
    [f"2024-01-{d:02d}" for d in range(1, 21)] + ["tomorrow"] * 10,  # a third are no dates
])
def test_columns_that_are_not_dates_are_not_read_as_dates(values):
    assert guess_dates(pd.Series(values)) is None


def test_times_with_an_offset_are_read_in_utc_and_naive_ones_as_they_are():
    got = to_datetimes(["2024-01-05T10:30:00Z", "2024-01-05T10:30:00+05:00", "2024-01-05T10:30:00"],
                       "%Y-%m-%dT%H:%M:%S%z", "when", "t")
    assert got.tolist() == [dt.datetime(2024, 1, 5, 10, 30), dt.datetime(2024, 1, 5, 5, 30),
                            dt.datetime(2024, 1, 5, 10, 30)]
    aware = pd.Series(pd.to_datetime(["2024-07-01 12:00"]).tz_localize("Europe/Paris"))
    assert to_datetimes(aware, None, "when", "t")[0] == np.datetime64("2024-07-01T10:00")


def test_every_kind_of_cell_reads_alike_one_by_one_and_in_bulk():
    cells = [dt.date(2024, 1, 3), None, np.nan, pd.NaT, pd.Timestamp("2024-01-01 10:00", tz="UTC"),
             np.datetime64("2024-01-02"), "2024-01-04", " 2024-01-05 ", "01/06/2024", dt.datetime(2024, 1, 7, 8)]
    few = to_datetimes(cells, "%Y-%m-%d", "when", "t")
    many = to_datetimes(cells * 10, "%Y-%m-%d", "when", "t")  # past the few-cells path: pandas at once
    np.testing.assert_array_equal(many, np.tile(few, 10))
    assert np.isnat(few[1:4]).all()
    assert few[[0, 4, 5, 6, 7, 8, 9]].tolist() == [
        dt.datetime(2024, 1, 3), dt.datetime(2024, 1, 1, 10), dt.datetime(2024, 1, 2), dt.datetime(2024, 1, 4),
        dt.datetime(2024, 1, 5), dt.datetime(2024, 1, 6), dt.datetime(2024, 1, 7, 8)]


@pytest.mark.parametrize("n", [3, 60])
def test_a_value_that_is_no_date_names_the_column_and_row(n):
    cells = ["2024-01-01"] * (n - 1) + ["soon"]
    with pytest.raises(DataError, match=rf"t.csv: column 'when' row {n - 1}: expected a date \(the training rows' "
                                        r"format is %Y-%m-%d\), got 'soon'"):
        to_datetimes(cells, "%Y-%m-%d", "when", "t.csv")
    numbers = ["2024-01-01"] * (n - 1) + [20240101]  # pandas would read a number as an epoch time
    with pytest.raises(DataError, match=rf"row {n - 1}: expected a date .* got 20240101"):
        to_datetimes(numbers, "%Y-%m-%d", "when", "t.csv")


def test_a_table_with_date_text_and_datetimes_gets_date_columns():
    stamps = _stamps(100)
    frame = pd.DataFrame({"ordered": stamps.strftime("%m/%d/%Y %H:%M"), "shipped": stamps + pd.Timedelta(days=2),
                          "x": np.arange(100.0), "y": np.arange(100) % 2})
    data = load_data(frame, "y", split=None)
    assert {c.name: (c.kind, c.format) for c in data.schema.columns} == {
        "ordered": ("date", "%m/%d/%Y %H:%M"), "shipped": ("date", None), "x": ("numeric", None)}
    again = type(data.schema).from_json(data.schema.to_json())
    assert again == data.schema


def test_distinct_timestamps_are_a_feature_not_an_id():
    frame = pd.DataFrame({"created_id": _stamps(50).strftime("%Y-%m-%d %H:%M:%S"), "x": np.arange(50.0),
                          "y": np.arange(50) % 2})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no id-like warning
        data = load_data(frame, "y", split=None)
    assert [c.kind for c in data.schema.columns] == ["date", "numeric"]


def test_the_stray_tokens_of_a_date_column_are_missing_values_with_a_warning():
    dates = list(_stamps(60).strftime("%Y-%m-%d"))
    dates[7], dates[30] = "unknown", "2024-13-45"
    frame = pd.DataFrame({"when": dates, "x": np.arange(60.0), "y": np.arange(60) % 2})
    with pytest.warns(UserWarning, match=r"column 'when' holds dates except 2 of 60 values: 'unknown' \(row 7\), "
                                         r"'2024-13-45' \(row 30\)\. They are read as missing values"):
        data = load_data(frame, "y", split=None, drop_duplicates=False)
    assert data.cleaning.n_non_date_values == {"when": 2}
    assert data.schema.columns[0].kind == "date"
    assert data.X["when"].isna().sum() == 2 and data.X["when"].iloc[8] == dates[8]


def test_a_column_with_the_category_dtype_stays_categorical():
    days = np.random.default_rng(0).choice(["2024-01-01", "2024-02-01", "2024-03-01"], 60)
    frame = pd.DataFrame({"when": pd.Categorical(days), "x": np.arange(60.0), "y": np.arange(60) % 2})
    data = load_data(frame, "y", split=None)
    assert {c.name: c.kind for c in data.schema.columns}["when"] == "categorical"


def test_periods_are_dates_read_as_the_instant_they_start():
    frame = pd.DataFrame({"month": pd.period_range("2020-01", periods=60, freq="M"), "x": np.arange(60.0),
                          "y": np.arange(60) % 2})
    data = load_data(frame, "y", split=None)
    assert data.schema.columns[0].kind == "date"
    column = to_datetimes(data.X["month"], None, "month", "t")
    cells = to_datetimes(data.X["month"].astype(object).to_numpy()[:3], None, "month", "t")  # as records give them
    np.testing.assert_array_equal(cells, column[:3])
    assert column[:2].tolist() == [dt.datetime(2020, 1, 1), dt.datetime(2020, 2, 1)]
