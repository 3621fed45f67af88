"""Class labels to indices and back, by the classes the schema recorded."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lepton_ai.data import Schema, load_data
from lepton_ai.features import decode_labels, encode_labels


def _schema(y, task: str | None = None) -> Schema:
    frame = pd.DataFrame({"a": np.arange(len(y)), "y": y})
    return load_data(frame, label="y", split=None, task=task).schema


@pytest.mark.parametrize(
    "y",
    [["cat", "dog", "bird"] * 5, [3, 7, 11] * 5, [True, False] * 5, [0.5, 1.5, 2.5] * 5],
    ids=["strings", "ints", "bools", "floats"],
)
def test_round_trip(y):
    schema = _schema(y, task="classification")
    codes = encode_labels(np.asarray(y), schema)
    assert codes.dtype == np.int64
    assert (codes >= 0).all() and codes.max() == schema.n_classes - 1
    assert decode_labels(codes, schema).tolist() == list(y)


def test_round_trip_after_schema_goes_through_json():
    y = [3, 7, 11] * 5
    schema = Schema.from_json(json.loads(json.dumps(_schema(y).to_json())))
    codes = encode_labels(np.asarray(y), schema)
    assert decode_labels(codes, schema).tolist() == y


def test_indices_follow_sorted_classes():
    schema = _schema(["b", "c", "a"] * 4)
    assert schema.classes == ("a", "b", "c")
    assert encode_labels(np.array(["a", "c"]), schema).tolist() == [0, 2]


def test_unknown_and_missing_labels_are_minus_one():
    schema = _schema(["cat", "dog"] * 5)
    assert encode_labels(np.array(["cat", "fish", None], dtype=object), schema).tolist() == [0, -1, -1]


def test_labels_given_as_text_match_integer_classes():
    schema = _schema([0, 1, 2] * 5)
    assert encode_labels(np.array(["2", "0"]), schema).tolist() == [2, 0]


def test_regression_targets_are_floats():
    schema = _schema(np.linspace(0, 10, 40))
    out = encode_labels(np.array([1, 2.5]), schema)
    assert out.dtype == np.float64 and out.tolist() == [1.0, 2.5]


def test_balanced_rows_give_every_class_the_same_total_weight():
    import numpy as np

    from lepton_ai.features.prepared import Prepared

    y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2])
    part = Prepared(X=np.zeros((9, 1), dtype=np.float32), y=y, task="classification", n_classes=4,
                    weight=np.array([1, 1, 1, 1, 1, 1, 2, 2, 0.5]))
    balanced = part.balanced()
    totals = np.bincount(y, weights=balanced.weight)
    np.testing.assert_allclose(totals, [totals.sum() / 3] * 3)   # class 3 has no row: no weight
    assert balanced.weight.sum() == np.float64(part.weight.sum())
    np.testing.assert_allclose(balanced.weight[:6] / balanced.weight[0], 1.0)  # rows keep their ratios within a class
