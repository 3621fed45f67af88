"""``TabularPreparer``: fitted on train only, aligned by column name, stored as JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lepton_ai.data import load_data, to_input
from lepton_ai.errors import DataError, NotFittedError
from lepton_ai.features import MAX_ONE_HOT, TabularPreparer


def _frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    age = rng.normal(40, 10, size=n)
    age[::7] = np.nan
    return pd.DataFrame(
        {
            "age": age,
            "income": rng.integers(1000, 9000, size=n).astype(float),
            "city": rng.choice(["paris", "rome", "oslo"], size=n),
            "member": rng.choice([True, False], size=n),
            "y": rng.choice(["a", "b"], size=n),
        }
    )


@pytest.fixture(scope="module")
def train():
    return load_data(_frame(), label="y", split=None)


@pytest.fixture(scope="module")
def preparer(train):
    return TabularPreparer(train.schema).fit(train)


def test_feature_names_match_dense_and_codes_widths(train, preparer):
    for view in ("dense", "codes"):
        assert preparer.transform(train.X, view).shape == (len(train), len(preparer.feature_names(view)))
    assert preparer.feature_names("codes") == ["age", "income", "member", "city"]
    dense = preparer.feature_names("dense")
    assert dense[:4] == ["age", "income", "member", "age__missing"]
    assert sorted(dense[4:]) == ["city=oslo", "city=paris", "city=rome"]


def test_output_is_float32(train, preparer):
    assert preparer.transform(train.X).dtype == np.float32


def test_transform_before_fit_raises(train):
    with pytest.raises(NotFittedError, match="before fit"):
        TabularPreparer(train.schema).transform(train.X)


def test_fitted_on_train_only(train):
    half = train.subset(np.arange(30))
    preparer = TabularPreparer(train.schema).fit(half)
    assert preparer.numeric_.median[1] == np.nanmedian(half.X["income"].to_numpy())


@pytest.mark.parametrize("view", ["dense", "codes"])
def test_reordered_columns_give_identical_features(train, preparer, view):
    reordered = train.X[list(reversed(train.X.columns))]
    np.testing.assert_array_equal(preparer.transform(reordered, view), preparer.transform(train.X, view))


@pytest.mark.parametrize("view", ["dense", "codes"])
def test_extra_columns_are_ignored(train, preparer, view):
    extra = train.X.assign(note="whatever", zzz=1.5)
    np.testing.assert_array_equal(preparer.transform(extra, view), preparer.transform(train.X, view))


def test_missing_columns_are_named(train, preparer):
    with pytest.raises(DataError, match=r"new\.csv: missing column\(s\) 'income', 'city'"):
        preparer.transform(train.X.drop(columns=["income", "city"]), source="new.csv")


def test_unseen_category_is_zero_one_hot_and_nan_code(train, preparer):
    new = train.X.head(2).copy()
    new["city"] = ["atlantis", "rome"]
    dense = preparer.transform(new, "dense")
    names = preparer.feature_names("dense")
    city = [i for i, n in enumerate(names) if n.startswith("city=")]
    assert dense[0, city].tolist() == [0.0, 0.0, 0.0]
    assert dense[1, city].sum() == 1.0 and dense[1, names.index("city=rome")] == 1.0
    codes = preparer.transform(new, "codes")
    position = preparer.categorical_indices("codes")[0]
    assert np.isnan(codes[0, position])
    assert codes[1, position] == preparer.categories_["city"].index("rome")


@pytest.mark.parametrize("view", ["dense", "codes"])
def test_unseen_categories_are_counted_per_column_in_the_callers_dict(train, preparer, view):
    new = train.X.head(5).copy()
    new["city"] = ["atlantis", "rome", None, "atlantis", "lyon"]  # a missing value is not unseen
    unseen: dict[str, int] = {}
    preparer.transform(new, view, unseen=unseen)
    assert unseen == {"city": 3}
    preparer.transform(new.head(1), view, unseen=unseen)  # counts add up across calls
    assert unseen == {"city": 4}


def test_unseen_counts_zero_for_known_categories_and_for_one_row(mixed):
    frame, preparer = mixed
    unseen: dict[str, int] = {}
    preparer.transform(frame.iloc[[0]], "dense", unseen=unseen)
    assert unseen == {"city": 0}
    row = frame.iloc[[0]].copy()
    row["city"] = "atlantis"
    preparer.transform(row, "codes", unseen=unseen)
    assert unseen == {"city": 1}


def test_unseen_counts_of_concurrent_calls_stay_apart(train, preparer):
    from concurrent.futures import ThreadPoolExecutor

    frames = []
    for k in range(8):
        new = train.X.head(20).copy()
        new.loc[new.index[:k], "city"] = "atlantis"
        frames.append(new)

    def count(frame: pd.DataFrame) -> int:
        unseen: dict[str, int] = {}
        for _ in range(20):
            preparer.transform(frame, "dense", unseen=unseen)
        return unseen["city"]

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(count, frames)) == [20 * k for k in range(8)]


def test_missing_numeric_values_use_train_median_and_indicator(train, preparer):
    new = train.X.head(3).copy()
    new["age"] = [np.nan, 50.0, np.nan]
    dense = preparer.transform(new, "dense")
    names = preparer.feature_names("dense")
    state = preparer.numeric_
    median_scaled = (state.median[0] - state.mean[0]) / state.std[0]
    assert dense[0, 0] == pytest.approx(median_scaled, rel=1e-6)
    assert dense[2, 0] == pytest.approx(median_scaled, rel=1e-6)
    assert dense[:, names.index("age__missing")].tolist() == [1.0, 0.0, 1.0]
    assert state.median[0] == pytest.approx(np.nanmedian(train.X["age"].to_numpy(dtype=float)))
    codes = preparer.transform(new, "codes")
    assert np.isnan(codes[0, 0]) and codes[1, 0] == 50.0


def test_no_indicator_for_columns_complete_in_train(preparer):
    assert "income__missing" not in preparer.feature_names("dense")


def test_dense_view_has_no_missing_values(train, preparer):
    new = train.X.head(4).copy()
    new["income"] = np.nan
    new["city"] = None
    assert np.isfinite(preparer.transform(new, "dense")).all()


def test_infinity_at_predict_time_is_imputed(train, preparer):
    new = train.X.head(2).copy()
    new["income"] = [np.inf, -np.inf]
    dense = preparer.transform(new, "dense")
    assert np.isfinite(dense).all()


@pytest.mark.parametrize("view", ["dense", "codes"])
def test_json_round_trip_gives_identical_output(train, preparer, view):
    direct = TabularPreparer.from_json(train.schema, preparer.to_json())
    through_text = TabularPreparer.from_json(train.schema, json.loads(json.dumps(preparer.to_json())))
    expected = preparer.transform(train.X, view)
    np.testing.assert_array_equal(direct.transform(train.X, view), expected)
    np.testing.assert_array_equal(through_text.transform(train.X, view), expected)


def test_json_round_trip_with_schema_through_text(train, preparer):
    schema = type(train.schema).from_json(json.loads(json.dumps(train.schema.to_json())))
    again = TabularPreparer.from_json(schema, json.loads(json.dumps(preparer.to_json())))
    np.testing.assert_array_equal(again.transform(train.X), preparer.transform(train.X))


def test_non_numeric_string_in_numeric_column_names_column_and_row(train, preparer):
    new = train.X.head(4).copy().astype({"income": object})
    new.loc[2, "income"] = "n/a"
    with pytest.raises(DataError, match=r"new\.csv: column 'income' row 2: expected a number, got 'n/a'"):
        preparer.transform(new, source="new.csv")


def test_numeric_strings_are_accepted(train, preparer):
    new = train.X.head(3).copy()
    new["income"] = new["income"].astype(str)
    expected = preparer.transform(train.X.head(3))
    np.testing.assert_array_equal(preparer.transform(new), expected)


def test_bad_boolean_names_column_and_row(train, preparer):
    new = train.X.head(3).copy().astype({"member": object})
    new.loc[1, "member"] = "maybe"
    with pytest.raises(DataError, match=r"column 'member' row 1: expected true/false, got 'maybe'"):
        preparer.transform(new, source="new.csv")


def test_boolean_strings_are_read(train, preparer):
    new = train.X.head(3).copy()
    new["member"] = ["yes", "FALSE", "1"]
    codes = preparer.transform(new, "codes")
    assert codes[:, preparer.feature_names("codes").index("member")].tolist() == [1.0, 0.0, 1.0]


def test_csv_at_predict_time_matches_training_frame(tmp_path, train, preparer):
    path = tmp_path / "new.csv"
    train.X.head(10).to_csv(path, index=False)
    data = to_input(path, train.schema)
    np.testing.assert_allclose(preparer.transform(data.X), preparer.transform(train.X.head(10)), rtol=1e-6)


def test_many_categories_share_an_other_slot():
    n = 200
    frame = pd.DataFrame(
        {"code": [f"c{i % 50}" for i in range(n)], "v": np.arange(n) % 7, "y": np.arange(n) % 2}
    )
    data = load_data(frame, label="y", split=None, drop_duplicates=False)
    preparer = TabularPreparer(data.schema).fit(data)
    names = preparer.feature_names("dense")
    assert names[-1] == "code=<other>"
    dense = preparer.transform(data.X, "dense")
    assert dense.shape[1] == len(names) == 1 + MAX_ONE_HOT + 1
    one_hot = dense[:, 1:]
    assert (one_hot.sum(axis=1) == 1).all()


def test_text_columns_are_hashed():
    n = 40
    frame = pd.DataFrame(
        {
            "review": [f"this product was {'great' if i % 2 else 'awful'} number {i}" for i in range(n)],
            "stars": np.arange(n) % 5,
            "y": np.arange(n) % 2,
        }
    )
    data = load_data(frame, label="y", split=None)
    assert {c.name: c.kind for c in data.schema.columns}["review"] == "text"
    preparer = TabularPreparer(data.schema).fit(data)
    dense = preparer.transform(data.X)
    assert dense.shape == (n, len(preparer.feature_names("dense")))
    assert np.isfinite(dense).all()


def test_image_arrays_are_flattened():
    data = load_data("digits", split=None)
    preparer = TabularPreparer(data.schema).fit(data)
    assert preparer.transform(data.X[:5]).shape == (5, 64)
    with pytest.raises(DataError, match=r"expected rows of shape \(8, 8\), got \(4, 16\)"):
        preparer.transform(data.X[:5].reshape(5, 4, 16))


def test_wine_prepared_features_are_standardised():
    train, _, _ = load_data("wine")
    preparer = TabularPreparer(train.schema).fit(train)
    dense = preparer.transform(train.X)
    np.testing.assert_allclose(dense.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(dense.std(axis=0), 1, atol=1e-4)


def test_categorical_only_table():
    frame = pd.DataFrame({"c": ["a", "b", "c"] * 10, "y": [0, 1] * 15})
    data = load_data(frame, label="y", split=None, drop_duplicates=False)
    preparer = TabularPreparer(data.schema).fit(data)
    assert preparer.transform(data.X).shape == (30, 3)
    assert preparer.transform(data.X, "codes").shape == (30, 1)
    again = TabularPreparer.from_json(data.schema, json.loads(json.dumps(preparer.to_json())))
    np.testing.assert_array_equal(again.transform(data.X), preparer.transform(data.X))


def test_column_empty_in_train_split_is_imputed_with_zero_quietly(recwarn):
    frame = pd.DataFrame({"a": np.arange(40.0), "b": [np.nan] * 30 + list(range(10)), "y": [0, 1] * 20})
    data = load_data(frame, label="y", split=None)
    preparer = TabularPreparer(data.schema).fit(data.subset(np.arange(30)))
    assert preparer.numeric_.median[1] == 0.0
    assert np.isfinite(preparer.transform(data.X)).all()
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_non_numeric_text_in_a_predict_csv_names_column_and_row(tmp_path, train, preparer):
    path = tmp_path / "new.csv"
    new = train.X.head(5).copy().astype({"income": object})
    new.loc[3, "income"] = "unknown"
    new.to_csv(path, index=False)
    data = to_input(path, train.schema)
    with pytest.raises(DataError, match=r"new\.csv: column 'income' row 3: expected a number, got 'unknown'"):
        preparer.transform(data.X, source=data.source)


def test_nan_and_inf_in_a_training_csv_end_finite(tmp_path):
    path = tmp_path / "gaps.csv"
    rows = [f"{i if i % 5 else ''},{'inf' if i % 7 == 0 else i * 2},{i % 2}" for i in range(40)]
    path.write_text("a,b,y\n" + "\n".join(rows) + "\n")
    data = load_data(path, label="y", split=None)
    assert data.cleaning.n_infinite_values == {"b": 6}
    preparer = TabularPreparer(data.schema).fit(data)
    dense = preparer.transform(data.X)
    assert np.isfinite(dense).all()
    assert preparer.feature_names("dense") == ["a", "b", "a__missing", "b__missing"]


@pytest.fixture(scope="module")
def mixed():
    """A mixed table without booleans."""
    frame = _frame().drop(columns="member")
    data = load_data(frame, label="y", split=None)
    return frame, TabularPreparer(data.schema).fit(data)


@pytest.mark.parametrize("view", ["dense", "codes"])
def test_one_row_frames_match_the_batch_transform(mixed, view):
    frame, preparer = mixed
    batch = preparer.transform(frame, view)
    for i in (0, 7, 13):  # row 7 has a missing age
        one = preparer.transform(frame.iloc[[i]], view)
        np.testing.assert_array_equal(one, batch[i : i + 1])


def test_one_row_with_text_in_a_numeric_column_names_it(mixed):
    frame, preparer = mixed
    row = frame.iloc[[0]].astype({"income": object})
    row.iloc[0, row.columns.get_loc("income")] = "lots"
    with pytest.raises(DataError, match="'income' row 0"):
        preparer.transform(row)


def test_a_repeated_feature_column_is_named(mixed):
    frame, preparer = mixed
    doubled = pd.concat([frame.iloc[[0]], frame.iloc[[0]][["age"]]], axis=1)
    with pytest.raises(DataError, match="'age' appear more than once"):
        preparer.transform(doubled)
