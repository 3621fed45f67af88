"""MLP family: the epoch cap and the deadline of the budget, and parameter checks."""

from __future__ import annotations

import time

import pytest

from lepton_ai.errors import ConfigError
from lepton_ai.models.base import Budget
from lepton_ai.models.checks import synthetic_data
from lepton_ai.models.families.mlp import MLPFamily


@pytest.fixture(scope="module")
def data():
    return (synthetic_data(MLPFamily, "classification", 200, seed=0),
            synthetic_data(MLPFamily, "classification", 60, seed=1))


def _mlp(epochs: int) -> MLPFamily:
    # patience above the epochs: only the budget may stop training early
    return MLPFamily(width=8, depth=1, epochs=epochs, batch_size=32, patience=1000)


def test_budget_max_epochs_caps_the_epochs(data) -> None:
    train, dev = data
    model = _mlp(epochs=50).fit(train, dev, budget=Budget(max_epochs=2))
    assert model.epochs_run_ == 2
    assert [h["epoch"] for h in model.history_] == [1, 2]


def test_epochs_below_the_cap_are_kept(data) -> None:
    train, dev = data
    assert _mlp(epochs=3).fit(train, dev, budget=Budget(max_epochs=10)).epochs_run_ == 3
    assert _mlp(epochs=4).fit(train, dev, budget=Budget()).epochs_run_ == 4


def test_expired_deadline_stops_after_one_epoch(data) -> None:
    train, dev = data
    model = _mlp(epochs=50).fit(train, dev, budget=Budget(deadline=time.monotonic() - 1.0))
    assert model.epochs_run_ == 1
    assert model.predict_proba(dev.X).shape == (60, 3)


@pytest.mark.parametrize(("params", "message"), [
    ({"width": 0}, r"The 'width' parameter of MLPFamily must be an int >= 1\. Got 0\."),
    ({"epochs": 2.0}, r"'epochs' .* must be an int >= 1\. Got 2\.0\."),
    ({"dropout": 1.0}, r"'dropout' .* must be in \[0, 1\)\. Got 1\.0\."),
    ({"learning_rate": 0}, r"'learning_rate' .* must be in \(0, inf\)\. Got 0\."),
    ({"weight_decay": -1e-4}, r"'weight_decay' .* must be in \[0, inf\)\."),
])
def test_bad_parameters_fail_in_fit_naming_them(data, params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MLPFamily(**params).fit(data[0])
