"""``to_input``: new data aligned to a trained schema, with the label kept aside when present."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lepton_ai.data import load_data, to_input
from lepton_ai.errors import DataError
from lepton_ai.features import TabularPreparer


@pytest.fixture(scope="module")
def iris():
    return load_data("iris", split=None)


def test_label_column_present_is_split_off(iris):
    frame = iris.X.assign(label=iris.y)
    data = to_input(frame, iris.schema)
    np.testing.assert_array_equal(data.y, iris.y)
    # The label may stay in X (preparation selects features by name) but never becomes a feature.
    preparer = TabularPreparer(iris.schema).fit(iris)
    np.testing.assert_array_equal(preparer.transform(data.X), preparer.transform(iris.X))


def test_label_column_absent_gives_no_labels(iris):
    data = to_input(iris.X.head(5), iris.schema)
    assert data.y is None
    assert len(data) == 5


def test_rows_are_never_dropped(iris):
    frame = pd.concat([iris.X.head(3)] * 2, ignore_index=True)
    assert len(to_input(frame, iris.schema)) == 6


def test_csv_path_with_label(tmp_path, iris):
    path = tmp_path / "new.csv"
    iris.X.head(10).assign(label=iris.y[:10]).to_csv(path, index=False)
    data = to_input(path, iris.schema)
    assert data.source == str(path)
    np.testing.assert_array_equal(data.y, iris.y[:10])


def test_missing_labels_are_kept_as_none(iris):
    labels = pd.Series(list(iris.y[:4]) + [None], dtype=object)
    data = to_input(iris.X.head(5).assign(label=labels), iris.schema)
    assert data.y[-1] is None and list(data.y[:4]) == list(iris.y[:4])


def test_array_of_right_width_becomes_table(iris):
    X = iris.X.to_numpy()[:7]
    data = to_input(X, iris.schema)
    assert list(data.X.columns) == list(iris.schema.input_columns)
    assert data.y is None


def test_xy_pair_keeps_labels(iris):
    data = to_input((iris.X.to_numpy()[:7], iris.y[:7]), iris.schema)
    np.testing.assert_array_equal(data.y, iris.y[:7])


def test_array_of_wrong_width_is_refused(iris):
    with pytest.raises(DataError, match="X has 3 features, but .* is expecting 4 features as input"):
        to_input(np.zeros((5, 3)), iris.schema)


def test_infinities_become_missing(iris):
    frame = iris.X.head(3).copy()
    frame.iloc[0, 0] = np.inf
    gap = frame.copy()
    gap.iloc[0, 0] = np.nan
    preparer = TabularPreparer(iris.schema).fit(iris)
    prepared = preparer.transform(to_input(frame, iris.schema).X)
    np.testing.assert_array_equal(prepared, preparer.transform(to_input(gap, iris.schema).X))
    assert np.isfinite(prepared).all()


def test_image_arrays_pass_through(tmp_path):
    path = tmp_path / "img.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 256, size=(30, 4, 4), dtype=np.uint8), y=np.arange(30) % 2)
    schema = load_data(path, split=None).schema
    data = to_input(rng.integers(0, 256, size=(3, 4, 4), dtype=np.uint8), schema)
    assert data.X.shape == (3, 4, 4) and data.y is None


def test_dataset_passes_through(iris):
    assert to_input(iris, iris.schema) is iris


def test_records_stay_records_with_the_label_split_off(iris):
    from lepton_ai.data.dataset import Records

    rows = iris.X.head(4).assign(label=iris.y[:4]).to_dict("records")
    data = to_input(rows, iris.schema)
    assert isinstance(data.X, Records) and data.X.rows is rows and data.source == "records"
    np.testing.assert_array_equal(data.y, iris.y[:4])
    single = to_input(rows[0], iris.schema)
    assert len(single) == 1 and single.source == "record"
    assert to_input(iris.X.head(2).to_dict("records"), iris.schema).y is None
    subset = data.subset(np.array([3, 1]))
    assert subset.X.rows == [rows[3], rows[1]] and list(subset.y) == [iris.y[3], iris.y[1]]


def test_records_where_only_some_hold_the_label_keep_the_others_unlabelled(iris):
    rows = iris.X.head(3).to_dict("records")
    rows[1] = {**rows[1], "label": iris.y[1]}
    data = to_input(rows, iris.schema)
    assert data.y[0] is None and data.y[1] == iris.y[1] and data.y[2] is None


def test_arrow_tables_stay_arrow_with_the_label_split_off(iris):
    import pyarrow as pa

    table = pa.Table.from_pandas(iris.X.head(5).assign(label=iris.y[:5]))
    data = to_input(table, iris.schema)
    assert data.X is table and data.source == "Arrow Table"
    np.testing.assert_array_equal(data.y, iris.y[:5])
    assert data.subset(np.array([0, 2])).X.num_rows == 2
    with pytest.raises(DataError, match="has no rows"):
        to_input(table.slice(0, 0), iris.schema)
