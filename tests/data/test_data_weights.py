"""Sample weights as the data layer reads them: a column or an array beside the rows, checked, and
kept with their rows through cleaning and splitting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lepton_ai.data.load import load_data
from lepton_ai.errors import ConfigError, DataError, NotBuiltError


@pytest.fixture()
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=120), "b": rng.choice(list("xyz"), 120),
                          "w": rng.uniform(0.5, 2.0, 120)})
    frame["label"] = (frame["a"] > 0).astype(int)
    return frame


def test_a_weight_column_is_kept_out_of_the_features_and_follows_its_rows(table) -> None:
    data = load_data(table, "label", weight="w", split=None)
    assert "w" not in data.schema.input_columns and "w" not in data.schema.feature_names
    np.testing.assert_array_equal(data.weight, table["w"].to_numpy())
    train, dev, test = load_data(table, "label", weight="w")
    for part in (train, dev, test):
        assert part.weight is not None and len(part.weight) == len(part)
    assert sorted(np.concatenate([train.weight, dev.weight, test.weight])) == sorted(table["w"])


def test_weighted_rows_are_not_dropped_as_duplicates(table) -> None:
    doubled = pd.concat([table, table.iloc[:10]], ignore_index=True)
    assert len(load_data(doubled, "label", split=None)) == 120
    assert len(load_data(doubled, "label", weight="w", split=None)) == 130


def test_rows_with_a_missing_label_drop_their_weight_with_them(table) -> None:
    table = table.astype({"label": float})
    table.loc[[3, 7], "label"] = np.nan
    data = load_data(table, "label", weight="w", split=None)
    np.testing.assert_array_equal(data.weight, table["w"].drop(index=[3, 7]).to_numpy())


def test_an_array_beside_x_and_y(table) -> None:
    weights = np.arange(1, 121, dtype=float)
    data = load_data((table[["a", "b"]], table["label"]), weight=weights, split=None)
    np.testing.assert_array_equal(data.weight, weights)
    assert data.schema.input_columns == ("a", "b")
    arrays = load_data((np.random.default_rng(1).normal(size=(30, 4, 2)), np.arange(30) % 2), weight=np.ones(30),
                       split=None)
    assert arrays.weight is not None and arrays.weight.shape == (30,)


@pytest.mark.parametrize(("value", "what"), [(np.nan, "missing values"), (-1.0, "negative values"),
                                             ("heavy", "values that are not numbers"), (np.inf, "infinite values")])
def test_bad_weights_name_the_column_the_row_and_what_was_expected(table, value, what) -> None:
    table = table.astype({"w": object})
    table.loc[5, "w"] = value
    with pytest.raises(DataError, match=rf"weight column 'w' has {what}: row 5 .*finite numbers >= 0"):
        load_data(table, "label", weight="w")


def test_all_zero_weights_are_refused(table) -> None:
    with pytest.raises(DataError, match="every value of weight column 'w' is zero"):
        load_data(table.assign(w=0.0), "label", weight="w")


def test_weights_of_the_wrong_length_or_shape(table) -> None:
    with pytest.raises(ConfigError, match=r"one per row: 120 rows, got weights of shape \(3,\)"):
        load_data((table[["a", "b"]], table["label"]), weight=np.ones(3))
    with pytest.raises(ConfigError, match=r"shape \(120, 2\)"):
        load_data((table[["a", "b"]], table["label"]), weight=np.ones((120, 2)))


def test_a_missing_weight_column_or_the_label_as_weight(table) -> None:
    with pytest.raises(DataError, match="weight column 'weights' not found. Columns: a, b, w, label"):
        load_data(table, "label", weight="weights")
    with pytest.raises(ConfigError, match="weight column 'label' is the label column"):
        load_data(table, "label", weight="label")


def test_weights_for_an_image_folder_are_not_built(tmp_path) -> None:
    from PIL import Image

    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        for i in range(3):
            Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / name / f"{i}.png")
    with pytest.raises(NotBuiltError, match="image folder"):
        load_data(tmp_path, weight=np.ones(6))
