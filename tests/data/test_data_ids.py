"""Row ids: the id column a user names (checked, kept out of the features) and columns that look
like ids (dropped with a warning)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from lepton_ai.data.load import load_data
from lepton_ai.errors import ConfigError, DataError


@pytest.fixture()
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 100
    frame = pd.DataFrame({"cid": [f"C{i:04d}" for i in range(n)], "a": rng.normal(size=n),
                          "plan": rng.choice(["basic", "pro"], n), "w": rng.uniform(1, 2, n)})
    return frame.assign(label=(frame["a"] > 0).astype(int))


def test_the_id_column_is_no_feature_and_its_values_follow_their_rows(table) -> None:
    data = load_data(table, "label", id="cid", split=None)
    assert data.schema.id_column == "cid" and "cid" not in data.schema.input_columns
    assert data.ids.tolist() == table["cid"].tolist()
    train, dev, test = load_data(table, "label", id="cid")
    assert sorted([*train.ids, *dev.ids, *test.ids]) == sorted(table["cid"])
    assert train.X["a"].tolist() == table.set_index("cid").loc[train.ids, "a"].tolist()


def test_an_id_column_with_duplicates_or_missing_values_is_refused(table) -> None:
    repeated = table.assign(cid=table["cid"].where(table.index != 7, "C0003"))
    with pytest.raises(DataError, match=r"id column 'cid' repeats values .* 'C0003' at row 3, row 7; ids must be "
                                        "unique"):
        load_data(repeated, "label", id="cid")
    missing = table.assign(cid=table["cid"].where(table.index != 5, None))
    with pytest.raises(DataError, match="id column 'cid' has missing values: row 5; every row needs an id"):
        load_data(missing, "label", id="cid")


def test_the_id_column_cannot_be_the_label_or_the_weights_or_absent(table) -> None:
    with pytest.raises(ConfigError, match="id column 'label' is the label column"):
        load_data(table, "label", id="label")
    with pytest.raises(ConfigError, match="id column 'w' is also the weight column"):
        load_data(table, "label", id="w", weight="w")
    with pytest.raises(DataError, match="id column 'customer' not found. Columns: cid, a, plan, w, label"):
        load_data(table, "label", id="customer")


def test_columns_that_look_like_ids_are_dropped_with_a_warning(table) -> None:
    frame = table.assign(order_id=np.arange(100) + 500, income=np.arange(100) * 1000 + 7)
    with pytest.warns(UserWarning, match=r"look like row ids .*'cid', 'order_id'") as caught:
        data = load_data(frame, "label", split=None)
    assert {"cid", "order_id"} <= set(data.schema.dropped)
    assert "income" in data.schema.feature_names  # distinct numbers without an id's name may be a quantity
    assert not any("income" in str(w.message) for w in caught)


def test_free_text_and_small_tables_are_not_ids() -> None:
    reviews = pd.DataFrame({"review": [f"the film number {i} was good" for i in range(60)],
                            "label": np.arange(60) % 2})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_data(reviews, "label", split=None).schema.feature_names == ["review"]
        tiny = pd.DataFrame({"name": list("abcdefghij"), "x": np.arange(10.0), "label": np.arange(10) % 2})
        assert "name" in load_data(tiny, "label", split=None).schema.feature_names
