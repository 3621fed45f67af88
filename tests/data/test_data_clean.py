"""Cleaning says what it changed: stray words in numeric columns, dropped columns."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from lepton_ai.data import load_data


def _numbers_with_words(n: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    age = [str(v) for v in rng.integers(18, 90, size=n)]
    age[7], age[40] = "?", "unknown"
    return pd.DataFrame({"age": age, "x": rng.normal(size=n), "y": rng.integers(0, 2, size=n)})


def test_stray_words_in_a_numeric_column_warn_and_become_missing():
    with pytest.warns(UserWarning, match=r"column 'age' .*2 of 100 .*'\?' \(row 7\), 'unknown' \(row 40\).*missing"):
        data = load_data(_numbers_with_words(), label="y", split=None, drop_duplicates=False)
    kinds = {c.name: c.kind for c in data.schema.columns}
    assert kinds["age"] == "numeric"
    assert data.X["age"].isna().sum() == 2 and np.isnan(data.X["age"].iloc[7])
    assert data.cleaning.n_non_numeric_values == {"age": 2}


def test_stray_words_in_a_csv_column_are_found_the_same_way(tmp_path):
    path = tmp_path / "ages.csv"
    _numbers_with_words().to_csv(path, index=False)
    with pytest.warns(UserWarning, match=r"ages\.csv: column 'age' "):
        data = load_data(path, label="y", split=None, drop_duplicates=False)
    assert data.cleaning.n_non_numeric_values == {"age": 2}


def test_a_categorical_column_stays_categorical_without_a_warning():
    rng = np.random.default_rng(1)
    colour = rng.choice(["red", "green", "blue"], size=100).astype(object)
    colour[:3] = ["1", "2", "3"]  # a few number-like categories do not make it numeric
    frame = pd.DataFrame({"colour": colour, "x": rng.normal(size=100), "y": rng.integers(0, 2, size=100)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_data(frame, label="y", split=None)
    assert {c.name: c.kind for c in data.schema.columns}["colour"] == "categorical"
    assert data.cleaning.n_non_numeric_values == {}


def test_a_column_with_a_tenth_of_words_stays_categorical():
    frame = _numbers_with_words()
    frame.loc[frame.index[:10], "age"] = "n/a"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_data(frame, label="y", split=None, drop_duplicates=False)
    assert {c.name: c.kind for c in data.schema.columns}["age"] == "categorical"


def test_a_category_dtype_column_is_never_coerced():
    frame = _numbers_with_words().astype({"age": "category"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_data(frame, label="y", split=None, drop_duplicates=False)
    assert {c.name: c.kind for c in data.schema.columns}["age"] == "categorical"
