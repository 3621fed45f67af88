"""The text view: raw strings of the text columns, fitted nowhere, cached as JSON beside the arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lepton_ai.data import load_data
from lepton_ai.errors import DataError
from lepton_ai.features.cache import FeatureCache
from lepton_ai.features.tabular import TabularPreparer
from lepton_ai.features.text import load_texts, save_texts


def _reviews(n: int = 60) -> pd.DataFrame:
    words = ["a great and moving film", "dull, slow and far too long", "sharp funny writing all through"]
    return pd.DataFrame({"review": [f"{words[i % 3]} number {i}" for i in range(n)], "stars": np.arange(n) % 5,
                         "label": ["fresh", "rotten", "fresh"] * (n // 3)})


def test_a_table_with_a_text_column_has_modality_text():
    data = load_data(_reviews(), split=None)
    assert data.schema.modality == "text"
    assert {c.name: c.kind for c in data.schema.columns} == {"review": "text", "stars": "numeric"}


def test_text_view_holds_the_strings_and_missing_values_become_empty():
    frame = _reviews()
    data = load_data(frame, split=None)
    preparer = TabularPreparer(data.schema).fit(data)
    rows = frame.head(3).copy()
    rows.loc[1, "review"] = None
    texts = preparer.transform(rows, "text")
    assert texts.dtype == object and texts.shape == (3, 1)
    assert texts[0, 0] == frame.review[0] and texts[1, 0] == ""
    with pytest.raises(DataError, match="missing column.*'review'"):
        preparer.transform(rows.drop(columns=["review"]), "text")


def test_feature_cache_stores_and_reloads_the_text_view(tmp_path):
    train, dev = load_data(_reviews(), split=(0.8, 0.2))
    cache = FeatureCache(tmp_path)
    first = cache.get_or_prepare(train, dev)
    again = FeatureCache(tmp_path).get_or_prepare(train, dev)
    assert set(first.views) == {"dense", "codes", "text"}
    np.testing.assert_array_equal(again.views["text"][0].X, first.views["text"][0].X)
    np.testing.assert_array_equal(again.views["text"][1].y, first.views["text"][1].y)
    assert not list(tmp_path.rglob("*.pkl")) and list(tmp_path.rglob("train_text_X.json"))


def test_tables_without_text_get_no_text_view(tmp_path, table):
    train, dev = load_data(table, label="species", split=(0.8, 0.2))
    assert set(FeatureCache(tmp_path).get_or_prepare(train, dev).views) == {"dense", "codes"}


def test_texts_round_trip_through_json(tmp_path):
    texts = np.array([["déjà vu \"quoted\"\n", ""], ["x", "y"]], dtype=object)
    np.testing.assert_array_equal(load_texts(save_texts(tmp_path / "t.json", texts)), texts)
