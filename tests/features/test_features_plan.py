"""The inference plan: every input form gives the features a plain pandas preparation gives, bit for bit."""

from __future__ import annotations

import json
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from conftest import make_mixed_table as _mixed
from lepton_ai.data import load_data
from lepton_ai.errors import DataError
from lepton_ai.features import MAX_ONE_HOT, TabularPreparer
from lepton_ai.features.plan import TEXT_HASH_FEATURES

_WORDS = {"true": 1.0, "yes": 1.0, "1": 1.0, "1.0": 1.0, "t": 1.0, "y": 1.0,
          "false": 0.0, "no": 0.0, "0": 0.0, "0.0": 0.0, "f": 0.0, "n": 0.0}


def _reference(preparer: TabularPreparer, frame: pd.DataFrame, view: str) -> np.ndarray:
    """The documented preparation written plainly with pandas, one column at a time."""
    from sklearn.feature_extraction.text import HashingVectorizer

    state = preparer.numeric_
    kinds = {c.name: c.kind for c in preparer.schema.columns}
    numeric = np.column_stack([
        _calendar_part(frame, name, preparer.schema) if name not in kinds
        else frame[name].map(lambda v: np.nan if pd.isna(v) else _WORDS[str(v).strip().lower()]).to_numpy(float)
        if kinds[name] == "boolean" and frame[name].dtype.kind not in "biuf"
        else pd.to_numeric(frame[name]).to_numpy(dtype=float, na_value=np.nan)
        for name in state.names
    ]) if state.names else np.zeros((len(frame), 0))
    numeric[np.isinf(numeric)] = np.nan
    blocks = [numeric]
    if view == "dense":
        missing = np.isnan(numeric)
        blocks = [(np.where(missing, state.median, numeric) - state.mean) / state.std,
                  missing[:, state.missing_in_train].astype(float)]
    for name in [n for n, k in kinds.items() if k == "categorical"]:
        categories = preparer.categories_[name]
        codes = np.array([categories.index(str(v)) if not pd.isna(v) and str(v) in categories else np.nan
                          for v in frame[name]], dtype=float)
        if view == "codes":
            blocks.append(codes[:, None])
            continue
        width = min(len(categories), MAX_ONE_HOT) + (len(categories) > MAX_ONE_HOT)
        one_hot = np.zeros((len(frame), width))
        for row, code in enumerate(codes):
            if not np.isnan(code):
                one_hot[row, min(int(code), width - 1)] = 1.0
        blocks.append(one_hot)
    hasher = HashingVectorizer(n_features=TEXT_HASH_FEATURES, alternate_sign=False, norm="l2")
    for name in [n for n, k in kinds.items() if k == "text"]:
        blocks.append(hasher.transform(frame[name].fillna("").astype(str)).toarray())
    return np.hstack(blocks).astype(np.float32)


def _calendar_part(frame: pd.DataFrame, name: str, schema) -> np.ndarray:
    """A date column's calendar part ``column.part`` with pandas' own datetime accessors."""
    column, part = name.rsplit(".", 1)
    fmt = next(c.format for c in schema.columns if c.name == column)
    values = frame[column]
    stamps = values if values.dtype.kind == "M" else pd.to_datetime(values, format=fmt)
    stamps = stamps.dt
    value = {"year": stamps.year, "month": stamps.month, "day": stamps.day, "weekday": stamps.day_of_week,
             "hour": stamps.hour + stamps.minute / 60 + stamps.second / 3600,
             "days": (stamps.tz_localize(None) - pd.Timestamp(0)) / pd.Timedelta(days=1)}[part]
    return value.to_numpy(dtype=float, na_value=np.nan)


def _fitted(frame: pd.DataFrame) -> tuple[TabularPreparer, pd.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # columns constant in train are dropped, and said so
        data = load_data(frame.iloc[:80], label="y", split=None, drop_duplicates=False)
    test = frame.iloc[80:].drop(columns="y").reset_index(drop=True)
    for name, kind in ((c.name, c.kind) for c in data.schema.columns):
        if kind == "categorical":
            test.loc[0, name] = "never-seen"
        if kind == "numeric" and test[name].dtype.kind == "f":
            test.loc[1, name] = np.inf
    return TabularPreparer(data.schema).fit(data), test


@pytest.fixture(scope="module", params=[(12, False, False), (130, False, False), (14, True, False), (9, False, True)],
                ids=["mixed", "130-columns", "text", "dates"])
def fitted(request):
    n_columns, text, dates = request.param
    return _fitted(_mixed(n_columns=n_columns, seed=n_columns, text=text, dates=dates))


def _forms(test: pd.DataFrame, input_columns: tuple[str, ...]) -> dict[str, object]:
    records = test.to_dict("records")
    return {
        "DataFrame": test, "records": records, "arrow Table": pa.Table.from_pandas(test),
        "arrow RecordBatch": pa.RecordBatch.from_pandas(test),
        "2-D object array": test[list(input_columns)].to_numpy(dtype=object),
        "categorical dtypes": test.astype({c: "category" for c in test.columns if test[c].dtype.kind not in "biuf"}),
    }


@pytest.mark.parametrize("view", ["dense", "codes"])
def test_every_input_form_equals_the_reference_bit_for_bit(fitted, view):
    preparer, test = fitted
    expected = _reference(preparer, test, view)
    assert expected.shape[1] == len(preparer.feature_names(view))
    for form, X in _forms(test, preparer.schema.input_columns).items():
        got = preparer.transform(X, view)
        assert got.dtype == np.float32 and got.flags.c_contiguous, form
        np.testing.assert_array_equal(got, expected, err_msg=form)


@pytest.mark.parametrize("view", ["dense", "codes"])
def test_one_row_inputs_equal_their_row_of_the_batch(fitted, view):
    preparer, test = fitted
    batch = preparer.transform(test, view)
    for i in (0, 1, 5):  # row 0 holds unseen categories, row 1 infinities
        record = test.iloc[i].to_dict()
        for X in (test.iloc[[i]], record, [record], test.to_numpy(dtype=object)[i]):
            np.testing.assert_array_equal(preparer.transform(X, view), batch[i : i + 1])


def test_frames_read_the_same_however_pandas_splits_them_into_blocks(fitted):
    preparer, test = fitted
    expected = preparer.transform(test, "codes")
    consolidated = test.copy()  # one block per dtype
    fragmented = test.iloc[:, :0].copy()
    for name in test.columns:  # one block per column, as read_csv and column assignment leave them
        fragmented[name] = test[name].to_numpy()
    assert consolidated._mgr.nblocks < fragmented._mgr.nblocks == len(test.columns)
    for frame in (consolidated, fragmented, consolidated.iloc[[3]], fragmented.iloc[[3]]):
        rows = slice(None) if len(frame) > 1 else slice(3, 4)
        np.testing.assert_array_equal(preparer.transform(frame, "codes"), expected[rows])


def test_text_view_is_the_same_strings_from_every_form():
    preparer, test = _fitted(_mixed(n_columns=8, text=True))
    expected = test[["review"]].to_numpy(dtype=object)
    for X in (test, test.to_dict("records"), pa.Table.from_pandas(test)):
        assert preparer.transform(X, "text").tolist() == expected.tolist()
    assert preparer.transform({**test.iloc[0].to_dict(), "review": None}, "text").tolist() == [[""]]


@pytest.mark.parametrize("view", ["dense", "codes"])
def test_unseen_categories_are_counted_alike_for_records_and_frames(fitted, view):
    preparer, test = fitted
    from_frame: dict[str, int] = {}
    from_records: dict[str, int] = {}
    preparer.transform(test, view, unseen=from_frame)
    preparer.transform(test.to_dict("records"), view, unseen=from_records)
    assert from_frame == from_records and sum(from_frame.values()) >= 1


def test_the_plan_is_built_once_and_shared_by_threads():
    preparer, test = _fitted(_mixed(n_columns=12))
    assert "_plan" not in preparer.__dict__
    records = test.to_dict("records")
    expected = preparer.transform(records, "dense")
    plan = preparer.plan()
    with ThreadPoolExecutor(4) as pool:
        outputs = list(pool.map(lambda k: preparer.transform(records[k:] + records[:k], "dense"), range(16)))
    for k, out in enumerate(outputs):
        np.testing.assert_array_equal(out, np.roll(expected, -k, axis=0))
    assert preparer.plan() is plan


def test_fit_drops_the_plan_and_a_loaded_preparer_builds_an_equal_one():
    frame = _mixed(n_columns=12)
    preparer, test = _fitted(frame)
    before = preparer.transform(test)
    data = load_data(frame.iloc[:40], label="y", split=None, drop_duplicates=False)
    preparer.fit(data)
    assert not np.array_equal(preparer.transform(test), before, equal_nan=True)
    again = TabularPreparer.from_json(preparer.schema, json.loads(json.dumps(preparer.to_json())))
    np.testing.assert_array_equal(again.transform(test.to_dict("records")), preparer.transform(test))


def test_a_pandas_without_get_column_array_reads_frames_the_same(monkeypatch):
    preparer, test = _fitted(_mixed(n_columns=12))
    expected = preparer.transform(test)
    monkeypatch.delattr(pd.DataFrame, "_get_column_array")
    np.testing.assert_array_equal(preparer.transform(test), expected)


# ---- bad input: the DataFrame's errors, naming the field ------------------------------------------
@pytest.fixture(scope="module")
def simple():
    frame = pd.DataFrame({"age": np.arange(40.0), "member": ["yes", "no"] * 20, "city": ["paris", "rome"] * 20,
                          "y": [0, 1] * 20})
    data = load_data(frame, label="y", split=None, drop_duplicates=False)
    record = {"age": 3.0, "member": "yes", "city": "rome"}
    return TabularPreparer(data.schema).fit(data), record


def test_a_record_missing_a_column_names_it(simple):
    preparer, record = simple
    with pytest.raises(DataError, match=r"record: missing column\(s\) 'city' that the model was trained on"):
        preparer.transform({k: v for k, v in record.items() if k != "city"}, source="record")


def test_records_with_mixed_keys_name_the_record_and_the_column(simple):
    preparer, record = simple
    rows = [record, {"age": 1.0, "member": "no"}]
    with pytest.raises(DataError, match=r"records: record 1: missing column\(s\) 'city'"):
        preparer.transform(rows, source="records")


def test_a_record_with_an_extra_key_is_read_like_a_frame_with_an_extra_column(simple):
    preparer, record = simple
    np.testing.assert_array_equal(preparer.transform({**record, "note": "ignored"}), preparer.transform(record))


@pytest.mark.parametrize(("column", "value", "message"), [
    ("age", "n/a", r"record: column 'age' row 0: expected a number, got 'n/a'"),
    ("age", [1, 2], r"record: column 'age' row 0: expected a number, got \[1, 2\]"),
    ("member", "maybe", r"record: column 'member' row 0: expected true/false, got 'maybe'"),
])
def test_a_record_of_the_wrong_type_names_column_and_row(simple, column, value, message):
    preparer, record = simple
    with pytest.raises(DataError, match=message):
        preparer.transform({**record, column: value}, source="record")
    with pytest.raises(DataError, match=message.replace("record:", "frame:")):
        preparer.transform(pd.DataFrame([{**record, column: value}], dtype=object), source="frame")


def test_the_wrong_row_of_a_list_of_records_is_named(simple):
    preparer, record = simple
    rows = [record, record, {**record, "age": "old"}]
    with pytest.raises(DataError, match=r"column 'age' row 2: expected a number, got 'old'"):
        preparer.transform(rows)
    with pytest.raises(DataError, match=r"records: record 1 is a str; expected a dict"):
        preparer.transform([record, "age=3"], source="records")


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, None, pd.NA])
def test_missing_and_infinite_record_values_are_imputed_like_a_frames(simple, value):
    preparer, record = simple
    dense = preparer.transform({**record, "age": value})
    assert np.isfinite(dense).all()
    np.testing.assert_array_equal(dense, preparer.transform(pd.DataFrame([{**record, "age": np.nan}])))


def test_an_unseen_category_in_a_record_is_counted_and_zero(simple):
    preparer, record = simple
    unseen: dict[str, int] = {}
    dense = preparer.transform({**record, "city": "atlantis"}, unseen=unseen)
    assert unseen == {"city": 1}
    city = [i for i, n in enumerate(preparer.feature_names("dense")) if n.startswith("city=")]
    assert dense[0, city].tolist() == [0.0, 0.0]


def test_an_arrow_batch_with_a_wrong_schema_names_the_field(simple):
    preparer, record = simple
    batch = pa.RecordBatch.from_pylist([record, {**record, "age": 5.0}])
    with pytest.raises(DataError, match=r"Arrow RecordBatch: missing column\(s\) 'city'"):
        preparer.transform(batch.drop_columns(["city"]), source="Arrow RecordBatch")
    wrong = pa.RecordBatch.from_pylist([{**record, "age": "old"}])
    with pytest.raises(DataError, match=r"column 'age' row 0: expected a number, got 'old'"):
        preparer.transform(wrong)
    nested = pa.RecordBatch.from_pylist([{**record, "age": [1.0]}])
    with pytest.raises(DataError, match=r"column 'age' row 0: expected a number"):
        preparer.transform(nested)


def test_an_array_of_the_wrong_width_says_what_is_expected(simple):
    preparer, _ = simple
    with pytest.raises(DataError, match=r"X has 2 features, but LeptonModel is expecting 3"):
        preparer.transform(np.zeros((4, 2)))


def test_something_that_is_no_table_is_refused(simple):
    preparer, _ = simple
    with pytest.raises(DataError, match=r"cannot read a table from a set"):
        preparer.transform({1, 2}, source="data")
