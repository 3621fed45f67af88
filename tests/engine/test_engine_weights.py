"""A search on weighted rows: every family fits with the weights, every score is weighted, and the
weights reach the refit, the folds and the dev split a user gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score

from lepton_ai import LeptonModel
from lepton_ai.engine.ensemble import DEV_OUTPUTS
from lepton_ai.engine.technique import SinglePointTechnique
from lepton_ai.errors import DataError
from lepton_ai.features.cache import FeatureCache


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """Two groups whose labels follow opposite rules: the weights decide which rule a model learns."""
    rng = np.random.default_rng(3)
    n = 600
    x = rng.normal(size=(n, 3))
    group = rng.choice(["a", "b"], size=n, p=[0.3, 0.7])
    rule = np.where(group == "a", x[:, 0] > 0, x[:, 0] < 0)
    frame = pd.DataFrame(x, columns=["x0", "x1", "x2"]).assign(label=np.where(rule, "yes", "no"))
    # The model cannot see the group: it learns the rule of the group that weighs more.
    return frame.assign(w=np.where(group == "a", 10.0, 1.0), group=group)


def test_every_trial_is_scored_on_weighted_rows(table, tmp_path):
    engine = SinglePointTechnique(budget="10s", families=["linear", "gbdt"], max_trials=4, home=tmp_path, refit=False)
    data = table.drop(columns="group")
    result = engine.search(data, label="label", weight="w")
    ok = [t for t in result.trials if t.ok and t.family != "ensemble"]
    assert ok
    prepared = FeatureCache(tmp_path / "cache" / "features").load(result.extra["key"])
    train, dev = prepared.views["dense"]
    assert train.weight is not None and dev.weight is not None
    folds = result.extra["validation"]["folds"]
    y = np.concatenate([train.y, dev.y]) if folds else dev.y
    w = np.concatenate([train.weight, dev.weight]) if folds else dev.weight
    for trial in ok:
        output = np.load(tmp_path / "runs" / result.run_id / DEV_OUTPUTS / f"{trial.trial_id}.npy")
        assert trial.dev_metric == pytest.approx(accuracy_score(y, output.argmax(axis=1), sample_weight=w))


def test_weights_decide_which_rule_the_model_learns(table, tmp_path):
    data = table.drop(columns="group")
    kwargs = {"objective": "accuracy", "budget": "10s", "families": "linear", "max_trials": 2, "verbose": 0}
    weighted = LeptonModel(**kwargs, engine=SinglePointTechnique(home=tmp_path / "w")).train(data, label="label",
                                                                                            weight="w")
    plain = LeptonModel(**kwargs, engine=SinglePointTechnique(home=tmp_path / "p")).train(data.drop(columns="w"),
                                                                                         label="label")
    group_a = table[table["group"] == "a"]
    # Group a weighs 10 x 0.3 against 1 x 0.7: weighted, its rule wins; unweighted, group b's does.
    assert weighted.test(group_a) > 0.8 > 0.2 > plain.test(group_a)
    # test and evaluate weigh the rows by a column, or by an array given beside them.
    expected = accuracy_score(data["label"], weighted.predict(data), sample_weight=data["w"])
    assert weighted.test(data, weight="w") == pytest.approx(expected)
    assert weighted.test(data, weight=data["w"].to_numpy()) == pytest.approx(expected)
    report = weighted.evaluate(data, weight="w")
    assert report["weighted"] and report["accuracy"] == pytest.approx(expected)
    with pytest.raises(DataError, match="weight column 'weights' not found"):
        weighted.test(data, weight="weights")


def test_a_dev_set_given_is_weighted_by_its_own_column(table, tmp_path):
    data = table.drop(columns="group")
    engine = SinglePointTechnique(budget="8s", families=["linear"], max_trials=2, home=tmp_path, refit=False)
    result = engine.search(data.iloc[:400], data.iloc[400:], label="label", weight="w")
    dev = FeatureCache(tmp_path / "cache" / "features").load(result.extra["key"]).views["dense"][1]
    np.testing.assert_array_equal(dev.weight, data["w"].iloc[400:].to_numpy())
    with pytest.raises(DataError, match=r"weight column 'w' not found\. Columns: x0, "):
        engine.search(data.iloc[:400], data.iloc[400:].drop(columns="w"), label="label", weight="w")


def test_imbalanced_classes_get_balanced_trials_whose_fit_weighs_the_classes_alike(tmp_path):
    rng = np.random.default_rng(5)
    n = 800
    x = rng.normal(size=(n, 3))
    score = x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.8, size=n)
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(label=np.where(score > np.quantile(score, 0.9), "y", "n"))
    engine = SinglePointTechnique(budget="10s", families=["linear"], max_trials=3, home=tmp_path)
    result = engine.search(frame, label="label", config=engine.search_config.with_options(metric="f1"))
    by_config = {t.config_id: t for t in result.trials if t.ok and t.family == "linear"}
    plain, balanced = by_config["s0"], by_config["s0b"]
    assert (plain.class_weight, balanced.class_weight) == (None, "balanced") and plain.params == balanced.params
    outputs = tmp_path / "runs" / result.run_id / DEV_OUTPUTS
    minority = [np.load(outputs / f"{t.trial_id}.npy")[:, 1].mean() for t in (plain, balanced)]
    assert minority[1] > 2 * minority[0]  # balanced, the 10% class gets about as much probability as the rest


def test_balanced_classes_get_no_balanced_trials(table, tmp_path):
    engine = SinglePointTechnique(budget="8s", families=["linear"], max_trials=3, home=tmp_path, refit=False)
    result = engine.search(table.drop(columns=["group", "w"]), label="label")
    assert all(t.class_weight is None for t in result.trials)
