"""LightGBM family: the deadline stops boosting, parameters are checked with clear messages."""

from __future__ import annotations

import time

import numpy as np
import pytest

from lepton_ai.errors import ConfigError
from lepton_ai.features.prepared import Prepared
from lepton_ai.models.base import Budget
from lepton_ai.models.checks import synthetic_data
from lepton_ai.models.families.gbdt import GBDTFamily


@pytest.fixture(scope="module")
def train():
    return synthetic_data(GBDTFamily, "classification", 300, seed=0)


def test_without_a_deadline_every_tree_is_built(train) -> None:
    model = GBDTFamily(n_estimators=30, num_leaves=4, min_child_samples=2).fit(train, budget=Budget())
    assert model.n_trees_ == 30


@pytest.mark.parametrize("with_dev", [False, True])
def test_expired_budget_stops_after_the_first_tree(train, with_dev: bool) -> None:
    dev = synthetic_data(GBDTFamily, "classification", 100, seed=1) if with_dev else None
    expired = Budget(deadline=time.monotonic() - 1.0)
    model = GBDTFamily(n_estimators=500, num_leaves=4, min_child_samples=2).fit(train, dev, budget=expired)
    assert model.n_trees_ == 1
    assert model.booster_.current_iteration() == 1
    proba = model.predict_proba(train.X)  # a stopped model is still a usable model
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_deadline_reached_while_boosting_stops_it_in_time() -> None:
    train = synthetic_data(GBDTFamily, "regression", 2000, seed=0)
    model = GBDTFamily(n_estimators=100_000, learning_rate=0.001, num_leaves=31, min_child_samples=2)
    start = time.monotonic()
    model.fit(train, budget=Budget.of_seconds(0.3))
    elapsed = time.monotonic() - start
    assert 1 < model.n_trees_ < 100_000
    assert elapsed < 2.0


@pytest.mark.parametrize(("params", "message"), [
    ({"learning_rate": -0.1},
     r"The 'learning_rate' parameter of GBDTFamily must be in \(0, 1\]\. Got -0\.1\."),
    ({"learning_rate": 1.5}, r"'learning_rate' .* must be in \(0, 1\]\. Got 1\.5\."),
    ({"n_estimators": 2.5}, r"The 'n_estimators' parameter of GBDTFamily must be an int >= 1\. Got 2\.5\."),
    ({"num_leaves": 1}, r"'num_leaves' .* must be an int >= 2\. Got 1\."),
    ({"feature_fraction": 0.0}, r"'feature_fraction' .* must be in \(0, 1\]\. Got 0\.0\."),
    ({"lambda_l2": float("nan")}, r"'lambda_l2' .* must be in \[0, inf\)\. Got nan\."),
    ({"early_stopping_rounds": 0}, r"'early_stopping_rounds' .* must be an int >= 1\. Got 0\."),
])
def test_bad_parameters_fail_in_fit_naming_them(train, params: dict, message: str) -> None:
    model = GBDTFamily(**params)  # construction only stores
    with pytest.raises(ConfigError, match=message):
        model.fit(train)


def test_numpy_integers_are_accepted_and_saved(train, tmp_path) -> None:
    # A grid or a sampler may hand over NumPy scalars; they must fit and survive the JSON state.
    model = GBDTFamily(n_estimators=np.int64(3), num_leaves=np.int64(4), min_child_samples=2).fit(train)
    model.save(tmp_path)
    loaded = GBDTFamily.load(tmp_path)
    assert loaded.get_params()["n_estimators"] == 3
    np.testing.assert_array_equal(loaded.predict_proba(train.X), model.predict_proba(train.X))


def test_rows_read_a_slice_at_a_time_give_the_model_an_array_gives(tmp_path) -> None:
    from lepton_ai.features.streamed import RowFile

    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 5)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    (tmp_path / "X.f32").write_bytes(X.tobytes())
    rows = RowFile(tmp_path / "X.f32", 5000, 5)
    rows.batch_size = 700  # batches that do not divide the rows
    in_memory = GBDTFamily(n_estimators=30).fit(Prepared(X=X, y=y, task="classification", n_classes=2))
    streamed = GBDTFamily(n_estimators=30).fit(Prepared(X=rows, y=y, task="classification", n_classes=2))
    np.testing.assert_array_equal(streamed.predict_proba(X), in_memory.predict_proba(X))
    assert GBDTFamily.streams and GBDTFamily.streamed_row_bytes(5, 2) < 8 * 5 + 64
