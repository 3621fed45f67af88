"""``load_data`` over every source kind: task and schema inference, cleaning counts, splits."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from lepton_ai.data import Dataset, load_data
from lepton_ai.errors import ConfigError, DataError


def _frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "num": rng.normal(size=n),
            "count": rng.integers(0, 50, size=n),
            "color": rng.choice(["red", "green", "blue"], size=n),
            "flag": rng.choice([True, False], size=n),
            "species": rng.choice(["setosa", "versicolor"], size=n),
        }
    )


# ---- sources --------------------------------------------------------------------------------
def test_csv_loads_into_three_parts(tmp_path):
    path = tmp_path / "train.csv"
    _frame().to_csv(path, index=False)
    train, dev, test = load_data(path, label="species")
    assert len(train) + len(dev) + len(test) == 120
    assert train.task == "classification"
    assert train.schema.classes == ("setosa", "versicolor")
    assert train.schema.feature_names == ["num", "count", "color", "flag"]
    assert "species" not in train.X.columns


def test_tsv_loads(tmp_path):
    path = tmp_path / "train.tsv"
    _frame().to_csv(path, index=False, sep="\t")
    data = load_data(path, label="species", split=None)
    assert isinstance(data, Dataset) and len(data) == 120
    assert data.schema.feature_names == ["num", "count", "color", "flag"]


def test_parquet_loads(tmp_path):
    path = tmp_path / "train.parquet"
    _frame().to_parquet(path)
    data = load_data(path, label="species", split=None)
    assert len(data) == 120
    assert {c.name: c.kind for c in data.schema.columns}["color"] == "categorical"


def test_dataframe_loads_and_label_is_found_by_name():
    frame = _frame().rename(columns={"species": "target"})
    data = load_data(frame, split=None)
    assert data.schema.label == "target"


def test_xy_arrays_make_a_table():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(60, 3)), rng.integers(0, 2, size=60)
    data = load_data((X, y), split=None)
    assert data.schema.modality == "tabular"
    assert data.schema.feature_names == ["x0", "x1", "x2"]
    assert data.task == "classification"


def test_dataframe_with_label_array():
    frame = _frame().drop(columns=["species"])
    data = load_data((frame, np.arange(120) % 2), split=None)
    assert data.schema.label == "y" and "y" not in data.X.columns


def test_npz_two_dimensional_is_tabular(tmp_path):
    path = tmp_path / "table.npz"
    rng = np.random.default_rng(2)
    np.savez(path, x=rng.normal(size=(50, 4)), y=rng.normal(size=50))
    data = load_data(path, split=None)
    assert data.schema.modality == "tabular"
    assert data.task == "regression"
    assert data.schema.feature_names == ["x0", "x1", "x2", "x3"]


def test_npz_uint8_three_dimensional_is_image(tmp_path):
    path = tmp_path / "images.npz"
    rng = np.random.default_rng(3)
    np.savez(path, x=rng.integers(0, 256, size=(40, 8, 8), dtype=np.uint8), y=np.arange(40) % 2)
    data = load_data(path, split=None)
    assert data.schema.modality == "image"
    assert data.schema.shape == (8, 8)
    assert isinstance(data.X, np.ndarray) and data.X.shape == (40, 8, 8)


def test_npz_float_three_dimensional_is_sequence(tmp_path):
    path = tmp_path / "seq.npz"
    np.savez(path, x=np.random.default_rng(4).normal(size=(30, 5, 2)), y=np.arange(30) % 3)
    data = load_data(path, split=None)
    assert data.schema.modality == "sequence" and data.schema.shape == (5, 2)


@pytest.mark.parametrize(
    ("name", "task", "modality", "n_rows"),
    [
        ("digits", "classification", "image", 1797),
        ("breast_cancer", "classification", "tabular", 569),
        ("wine", "classification", "tabular", 178),
        ("iris", "classification", "tabular", 150),
        ("diabetes", "regression", "tabular", 442),
    ],
)
def test_bundled_datasets(name, task, modality, n_rows):
    data = load_data(name, split=None, drop_duplicates=False)
    assert data.task == task
    assert data.schema.modality == modality
    assert len(data) == n_rows
    if modality == "image":
        assert data.schema.shape == (8, 8)


def test_dataset_passes_through():
    data = load_data("iris", split=None)
    assert load_data(data, split=None) is data


# ---- task inference -------------------------------------------------------------------------
def test_string_labels_are_classification():
    frame = pd.DataFrame({"a": range(20), "y": ["cat", "dog"] * 10})
    assert load_data(frame, label="y", split=None).task == "classification"


def test_float_labels_are_regression():
    frame = pd.DataFrame({"a": range(20), "y": np.linspace(0, 1, 20)})
    assert load_data(frame, label="y", split=None).task == "regression"


def test_few_integer_labels_are_classification_many_are_regression():
    few = pd.DataFrame({"a": range(30), "y": np.arange(30) % 3})
    many = pd.DataFrame({"a": range(100), "y": np.arange(100) * 7})
    assert load_data(few, label="y", split=None).task == "classification"
    assert load_data(many, label="y", split=None).task == "regression"


def test_task_override():
    frame = pd.DataFrame({"a": range(30), "y": np.arange(30) % 3})
    data = load_data(frame, label="y", split=None, task="regression")
    assert data.task == "regression" and data.y.dtype == np.float64


def test_regression_on_text_labels_is_refused():
    frame = pd.DataFrame({"a": range(20), "y": ["cat", "dog"] * 10})
    with pytest.raises(DataError, match="task='regression' needs a numeric label; label 'y' holds text"):
        load_data(frame, label="y", split=None, task="regression")


def test_bad_task_is_config_error():
    with pytest.raises(
        ConfigError, match="task must be one of auto, classification, regression. Got 'clustering'"
    ):
        load_data("iris", task="clustering")


def test_float_class_labels_with_missing_values_become_integers():
    frame = pd.DataFrame({"a": range(12), "y": [1.0, 2.0, None] * 4})
    data = load_data(frame, label="y", split=None)
    assert data.schema.classes == (1, 2)
    assert data.cleaning.n_missing_label_dropped == 4


# ---- schema ---------------------------------------------------------------------------------
def test_schema_kinds():
    n = 40
    frame = pd.DataFrame(
        {
            "n": np.arange(n, dtype=float),
            "cat": ["a", "b", "c", "d"] * 10,
            "b": [True, False] * 20,
            "yes": ["yes", "no"] * 20,
            "words": [f"this is sentence number {i}" for i in range(n)],
            "numtext": [str(i) for i in range(n)],
            "y": [0, 1] * 20,
        }
    )
    kinds = {c.name: c.kind for c in load_data(frame, label="y", split=None).schema.columns}
    assert kinds == {
        "n": "numeric",
        "cat": "categorical",
        "b": "boolean",
        "yes": "boolean",
        "words": "text",
        "numtext": "numeric",
    }


def test_constant_and_all_missing_columns_are_dropped_with_reason():
    frame = pd.DataFrame({"a": range(20), "const": 5, "empty": np.nan, "y": [0, 1] * 10})
    with pytest.warns(UserWarning) as record:
        data = load_data(frame, label="y", split=None)
    dropped = [str(w.message) for w in record if "dropped" in str(w.message)]
    assert dropped == ["DataFrame: dropped 2 feature column(s) that carry no information: "
                       "'const' (constant: every value is 5), 'empty' (all values missing)."]
    assert data.schema.feature_names == ["a"]
    assert data.schema.dropped == {"const": "constant", "empty": "all values missing"}
    assert data.schema.input_columns == ("a", "const", "empty")


def test_a_constant_column_with_gaps_is_kept_without_a_warning():
    # Whether the value is there can be the signal: the column is kept, and preparation adds its indicator.
    frame = pd.DataFrame({"a": range(20), "mostly": [1.0] * 15 + [np.nan] * 5, "y": [0, 1] * 10})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_data(frame, label="y", split=None)
    assert data.schema.feature_names == ["a", "mostly"]


def test_only_unusable_columns_is_refused():
    frame = pd.DataFrame({"const": [1] * 10, "y": [0, 1] * 5})
    with pytest.raises(DataError, match="DataFrame: no usable feature column \\(const: constant\\)"):
        load_data(frame, label="y", split=None)


def test_schema_json_round_trip():
    import json

    schema = load_data("iris", split=None).schema
    again = type(schema).from_json(json.loads(json.dumps(schema.to_json())))
    assert again == schema


# ---- cleaning -------------------------------------------------------------------------------
def test_one_class_only_is_refused():
    frame = pd.DataFrame({"a": range(10), "y": ["spam"] * 10})
    with pytest.raises(DataError, match="label column 'y' has only one class \\('spam'\\)"):
        load_data(frame, label="y")


def test_all_labels_missing_is_refused(tmp_path):
    path = tmp_path / "nolabels.csv"
    path.write_text("a,y\n1,\n2,\n3,\n")
    with pytest.raises(
        DataError, match=r"nolabels\.csv: every value of label column 'y' is missing \(3 rows\)"
    ):
        load_data(path, label="y")


def test_all_array_labels_missing_is_refused():
    X = np.random.default_rng(0).normal(size=(6, 2, 2))
    with pytest.raises(DataError, match="every label is missing"):
        load_data((X, np.full(6, np.nan)))


def test_duplicates_and_missing_labels_are_counted():
    frame = pd.DataFrame({"a": [1, 1, 1, 2, 3, 4, 5, 6], "y": [0, 0, 0, 1, None, 1, 0, 1]})
    data = load_data(frame, label="y", split=None)
    assert data.cleaning.n_rows_read == 8
    assert data.cleaning.n_missing_label_dropped == 1
    assert data.cleaning.n_duplicates_dropped == 2
    assert len(data) == 5


def test_drop_duplicates_off_keeps_rows():
    frame = pd.DataFrame({"a": [1, 1, 2, 3], "y": [0, 0, 1, 1]})
    data = load_data(frame, label="y", split=None, drop_duplicates=False)
    assert len(data) == 4 and data.cleaning.n_duplicates_dropped == 0


def test_infinities_become_missing_and_are_counted(tmp_path):
    path = tmp_path / "inf.csv"
    path.write_text("a,b,y\n1,inf,0\n2,-inf,1\n3,,0\n4,5,1\n5,6,0\n")
    data = load_data(path, label="y", split=None)
    assert data.cleaning.n_infinite_values == {"b": 2}
    assert data.X["b"].isna().sum() == 3
    assert not np.isinf(data.X["b"].to_numpy(dtype=float)).any()


def test_infinities_in_arrays_are_counted():
    X = np.random.default_rng(0).normal(size=(10, 2, 2))
    X[0, 0, 0] = np.inf
    data = load_data((X, np.arange(10) % 2), split=None)
    assert data.cleaning.n_infinite_values == {"x": 1}
    assert np.isnan(data.X).sum() == 1


def test_infinite_regression_labels_are_refused():
    frame = pd.DataFrame({"a": range(30), "y": [np.inf] + list(np.linspace(0, 1, 29))})
    with pytest.raises(DataError, match="label column 'y' holds infinite values"):
        load_data(frame, label="y", task="regression", split=None)


def test_constant_regression_label_is_refused():
    frame = pd.DataFrame({"a": range(30), "y": 2.5})
    with pytest.raises(DataError, match="label column 'y' is constant"):
        load_data(frame, label="y", task="regression", split=None)


def test_mismatched_x_and_y_lengths():
    X = np.zeros((10, 2, 2))
    with pytest.raises(DataError, match="x has 10 rows but y has 9"):
        load_data((X, np.arange(9) % 2))


# ---- splits ---------------------------------------------------------------------------------
def test_default_split_is_70_15_15():
    train, dev, test = load_data("breast_cancer")
    n = len(train) + len(dev) + len(test)
    assert n == 569
    assert abs(len(train) / n - 0.7) < 0.01
    assert abs(len(dev) / n - 0.15) < 0.01
    assert abs(len(test) / n - 0.15) < 0.01


def test_split_is_seeded():
    a = load_data("wine", seed=7)
    b = load_data("wine", seed=7)
    c = load_data("wine", seed=8)
    for left, right in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(left.X, right.X)
        np.testing.assert_array_equal(left.y, right.y)
    assert not a[0].X.equals(c[0].X)


def test_split_is_stratified():
    full = load_data("wine", split=None)
    overall = pd.Series(full.y).value_counts(normalize=True).sort_index()
    for part in load_data("wine"):
        share = pd.Series(part.y).value_counts(normalize=True).sort_index()
        assert np.allclose(share.to_numpy(), overall.to_numpy(), atol=0.05)


def test_split_parts_are_disjoint_and_complete():
    frame = pd.DataFrame({"id": range(200), "x": np.arange(200) * 0.5, "y": np.arange(200) % 2})
    parts = load_data(frame, label="y", id="id")
    ids = np.concatenate([p.ids for p in parts])
    assert sorted(ids) == list(range(200))
    assert all((p.X["x"].to_numpy() == p.ids * 0.5).all() for p in parts)


def test_a_table_whose_only_column_is_an_id_has_no_feature():
    frame = pd.DataFrame({"id": range(200), "y": np.arange(200) % 2})
    with pytest.raises(DataError, match="no usable feature column .*id-like"), pytest.warns(UserWarning, match="ids"):
        load_data(frame, label="y")


def test_two_part_split():
    parts = load_data("iris", split=(0.9, 0.1))
    assert len(parts) == 2
    assert len(parts[0]) + len(parts[1]) == 149  # iris has one duplicate row
    assert parts[1].source.endswith("[dev]")


def test_split_none_returns_one_dataset():
    assert isinstance(load_data("iris", split=None), Dataset)


@pytest.mark.parametrize(
    "split", [(0.5, 0.6), (1.0,), (0.5, 0.3, 0.1, 0.1), (0.0, 1.0), ("a", "b"), (-0.2, 1.2)]
)
def test_bad_split_is_config_error(split):
    with pytest.raises(ConfigError, match="split must be"):
        load_data("iris", split=split)


def test_too_few_rows_to_split():
    frame = pd.DataFrame({"a": [1, 2], "y": [0, 1]})
    with pytest.raises(DataError, match="2 rows cannot be split into 3 parts"):
        load_data(frame, label="y")


def test_rare_classes_fall_back_to_an_unstratified_split():
    frame = pd.DataFrame({"a": range(40), "y": [0] * 39 + [1]})
    with pytest.warns(UserWarning, match="too rare to stratify"):
        parts = load_data(frame, label="y")
    assert sum(len(p) for p in parts) == 40


def test_integer_labels_in_an_object_column_stay_integers():
    labels = pd.Series([0, 1, None] * 4, dtype=object)
    data = load_data(pd.DataFrame({"a": range(12), "y": labels}), label="y", split=None)
    assert data.schema.classes == (0, 1)
    assert data.y.dtype.kind == "i"


@pytest.mark.parametrize("dtype", ["<U2", "datetime64[s]"])
def test_non_numeric_sequence_arrays_are_refused_with_their_dtype(dtype):
    X = np.zeros((6, 2, 2)).astype(dtype)
    with pytest.raises(DataError, match=rf"\(X, y\): x has dtype {re.escape(str(np.dtype(dtype)))}; image and "
                                        r"sequence arrays must be numbers"):
        load_data((X, np.array([0, 1] * 3)), split=None)


def test_non_numeric_arrays_at_predict_time_are_refused():
    from lepton_ai.data import to_input

    train = load_data((np.random.default_rng(0).normal(size=(20, 3, 2)), np.arange(20) % 2), split=None)
    with pytest.raises(DataError, match=r"x has dtype <U1; image and sequence arrays must be numbers"):
        to_input(np.full((2, 3, 2), "a"), train.schema)


@pytest.mark.parametrize(("values", "task", "why"), [
    (list(range(20)), "regression", "20 distinct whole numbers over 20 rows (fewer than 5 rows each"),
    ([1, 2, 3, 4] * 5, "classification", "4 distinct whole numbers over 20 rows"),
    ([0, 1] * 3, "classification", "2 distinct whole numbers over 6 rows"),
    (list(range(30)) * 10, "regression", "30 distinct whole numbers over 300 rows (more than 20)"),
    ([0.5, 1.5, 2.25] * 10, "regression", "numbers with fractions"),
    (["a", "b"] * 10, "classification", "holds text"),
])
def test_the_task_is_inferred_with_its_reason(values, task, why) -> None:
    frame = pd.DataFrame({"x": np.arange(len(values), dtype=float), "y": values})
    dataset = load_data(frame, label="y", split=None)
    assert dataset.schema.task == task
    assert why in dataset.cleaning.task_reason


def test_an_asked_task_wins_and_says_so() -> None:
    frame = pd.DataFrame({"x": np.arange(20.0), "y": list(range(20))})
    dataset = load_data(frame, label="y", split=None, task="classification")
    assert dataset.schema.task == "classification" and dataset.cleaning.task_reason == "as asked"
