"""Splits say what they did with classes too rare to reach every part."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from lepton_ai.data import load_data


def _table_with_rare_class(n_rare: int, n: int = 100) -> pd.DataFrame:
    y = np.array(["common", "usual"] * (n // 2), dtype=object)
    y[:n_rare] = "rare"
    return pd.DataFrame({"a": np.arange(n, dtype=float), "y": y})


def test_a_class_of_two_rows_warns_with_its_count_and_where_its_rows_went():
    with pytest.warns(UserWarning, match=r"class 'rare' has only 2 rows") as record:
        parts = load_data(_table_with_rare_class(2), label="y")
    message = next(str(w.message) for w in record if "class 'rare'" in str(w.message))
    found = re.search(r"class 'rare' has only 2 rows \(train (\d+), dev (\d+), test (\d+)\)", message)
    assert found is not None, message
    assert [int(g) for g in found.groups()] == [int((p.y == "rare").sum()) for p in parts]
    assert "cannot be scored" in message


def test_several_rare_classes_share_one_warning():
    frame = _table_with_rare_class(2)
    frame.loc[2:3, "y"] = "odd"
    with pytest.warns(UserWarning) as record:
        load_data(frame, label="y")
    rare = [str(w.message) for w in record if "has only" in str(w.message)]
    assert len(rare) == 1 and "'rare'" in rare[0] and "'odd'" in rare[0]


def test_classes_with_enough_rows_split_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parts = load_data(_table_with_rare_class(20), label="y")
    assert all((p.y == "rare").any() for p in parts)


def test_a_two_part_split_names_dev_only():
    with pytest.warns(UserWarning, match=r"class 'rare' has only 1 row \(train \d, dev \d\)"):
        load_data(_table_with_rare_class(1), label="y", split=(0.8, 0.2))
