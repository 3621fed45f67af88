"""Calendar parts of dates: the same numbers Python's ``datetime`` gives, NaN where a date is missing."""

from __future__ import annotations

import datetime as dt

import numpy as np

from lepton_ai.features.calendar import DATE_PARTS, calendar_parts, part_names


def test_calendar_parts_are_those_of_python_datetimes_before_and_after_1970():
    rng = np.random.default_rng(0)
    micros = rng.integers(-80 * 365 * 86_400, 80 * 365 * 86_400, 2000) * 1_000_000 + rng.integers(0, 10**6, 2000)
    stamps = micros.astype("datetime64[us]")
    stamps[:2] = [np.datetime64("2024-02-29T23:59:59"), np.datetime64("1969-12-31T00:30")]
    got = calendar_parts(stamps)
    epoch = dt.datetime(1970, 1, 1)
    for row, stamp in zip(got, stamps.tolist(), strict=True):
        hour = stamp.hour + stamp.minute / 60 + stamp.second / 3600 + stamp.microsecond / 3.6e9
        expected = [stamp.year, stamp.month, stamp.day, stamp.weekday(), hour, (stamp - epoch) / dt.timedelta(days=1)]
        np.testing.assert_allclose(row, expected, rtol=0, atol=1e-9)
    one_by_one = np.vstack([calendar_parts(stamps[i:i + 1]) for i in range(len(stamps))])  # the few-rows path
    np.testing.assert_array_equal(one_by_one, got)


def test_a_few_rows_and_many_give_the_same_parts_beyond_what_datetime_holds():
    stamps = np.array(["2024-03-01T12:00", "NaT", "12000-01-01", "-0100-06-15"], dtype="datetime64[us]")
    few = calendar_parts(stamps)
    many = calendar_parts(np.tile(stamps, 5))[:4]
    np.testing.assert_array_equal(few, many)
    assert few[2, :3].tolist() == [12000, 1, 1] and np.isnan(few[1]).all()


def test_a_missing_date_is_nan_in_every_part():
    got = calendar_parts(np.array(["2024-01-01", "NaT"], dtype="datetime64[us]"))
    assert got.shape == (2, len(DATE_PARTS))
    assert np.isnan(got[1]).all() and not np.isnan(got[0]).any()
    assert got[0].tolist() == [2024, 1, 1, 0, 0, 19723]  # a Monday, 19723 days after 1970-01-01


def test_part_names_name_the_column_and_the_part():
    assert part_names("ordered") == ["ordered.year", "ordered.month", "ordered.day", "ordered.weekday",
                                     "ordered.hour", "ordered.days"]
