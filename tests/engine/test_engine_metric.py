"""A search ranked by the user's metric: every trial scored by it, the ensemble and the choice made by it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from lepton_ai import LeptonModel
from lepton_ai.engine.ensemble import DEV_OUTPUTS
from lepton_ai.engine.technique import SinglePointTechnique
from lepton_ai.errors import ConfigError, TrialError
from lepton_ai.features.cache import FeatureCache
from lepton_ai.models.metrics import make_metric


@pytest.fixture(scope="module")
def churn() -> pd.DataFrame:
    """85/15 classes, a category and missing values."""
    rng = np.random.default_rng(7)
    n = 1_500
    x = rng.normal(size=(n, 4))
    plan = rng.choice(["basic", "plus", "pro"], size=n)
    score = x[:, 0] + 0.8 * x[:, 1] * x[:, 2] + (plan == "pro") * 0.7 + rng.normal(scale=0.6, size=n)
    churned = np.where(score > np.quantile(score, 0.85), "yes", "no")
    frame = pd.DataFrame(x, columns=["tenure", "calls", "spend", "age"]).assign(plan=plan, churned=churned)
    frame.loc[rng.random(n) < 0.05, "spend"] = np.nan
    return frame


def test_every_trial_is_scored_by_the_metric_from_its_dev_outputs(churn, tmp_path):
    engine = SinglePointTechnique(budget="12s", families=["linear", "gbdt"], max_trials=6, home=tmp_path,
                                  refit=False)
    result = engine.search(churn, label="churned", config=engine.search_config.with_options(metric="f1"))
    ok = [t for t in result.trials if t.ok]
    assert ok and {t.metric_name for t in ok} == {"f1"}
    run_dir = tmp_path / "runs" / result.run_id
    prepared = FeatureCache(tmp_path / "cache" / "features").load(result.extra["key"])
    train, dev = prepared.views["dense"]
    # The rows ranked on: out-of-fold over train + dev on a table this small, else the dev split.
    y_rank = np.concatenate([train.y, dev.y]) if result.extra["validation"]["folds"] else dev.y
    for trial in (t for t in ok if t.family != "ensemble"):
        output = np.load(run_dir / DEV_OUTPUTS / f"{trial.trial_id}.npy")
        assert trial.dev_metric == pytest.approx(f1_score(y_rank, output.argmax(axis=1)))
    assert engine.store.run(result.run_id)["config"]["metric"] == "f1"


def test_the_model_is_chosen_tested_and_evaluated_by_the_metric(churn, tmp_path):
    model = LeptonModel(objective="accuracy", metric="f1", budget="12s", families="linear,gbdt", max_trials=6,
                        verbose=0, engine=SinglePointTechnique(home=tmp_path))
    model.train(churn, label="churned")
    best = max((t for t in model.result_.trials if t.ok), key=lambda t: t.dev_metric)
    assert model.chosen.dev_metric >= best.dev_metric - 0.05 and model.chosen.metric_name == "f1"
    labels = churn["churned"].to_numpy()
    assert model.test(churn) == pytest.approx(f1_score(labels == "yes", model.predict(churn) == "yes"))
    report = model.evaluate(churn)
    assert report["metric"] == "f1" and report["f1"] == pytest.approx(model.test(churn))
    board = model.leaderboard()
    assert set(board[board["status"] == "ok"]["metric"]) == {"f1"}


def test_a_loss_ranks_negated_and_evaluate_reports_it_as_it_is(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(y=3 * X[:, 0] + X[:, 1] ** 2 + rng.normal(size=600))
    model = LeptonModel(metric="rmse", budget="8s", families="linear,gbdt", max_trials=4, verbose=0,
                        engine=SinglePointTechnique(home=tmp_path)).train(frame, label="y")
    assert all(t.dev_metric < 0 for t in model.result_.trials if t.ok)
    rmse = float(np.sqrt(np.mean((model.predict(frame) - frame["y"]) ** 2)))
    assert model.test(frame) == pytest.approx(-rmse) and model.evaluate(frame)["rmse"] == pytest.approx(rmse)


def test_a_metric_of_your_own_ranks_even_as_a_lambda(churn, tmp_path):
    recall_yes = make_metric(lambda y, pred: float(np.mean(pred[y == 1] == 1)), greater_is_better=True,
                             name="recall_yes")
    model = LeptonModel(metric=recall_yes, budget="8s", families="linear", max_trials=2, verbose=0,
                        engine=SinglePointTechnique(home=tmp_path)).train(churn, label="churned")
    assert model.chosen.metric_name == "recall_yes" and 0 <= model.chosen.dev_metric <= 1
    with pytest.raises(ConfigError, match="a metric of your own: resume it with metric=make_metric"):
        SinglePointTechnique(home=tmp_path).resume(model.result_.run_id)


def test_a_metric_that_fails_fails_every_trial_with_its_cause(churn, tmp_path):
    broken = make_metric(lambda y, pred: float("nan"), greater_is_better=True, name="broken")
    model = LeptonModel(metric=broken, budget="6s", families="linear", max_trials=2, verbose=0,
                        engine=SinglePointTechnique(home=tmp_path))
    with pytest.raises(TrialError, match="metric 'broken' returned nan"):
        model.train(churn, label="churned")


def test_a_metric_for_the_other_task_is_refused_before_any_trial(churn, tmp_path):
    with pytest.raises(ConfigError, match="metric 'rmse' is for regression, and this task is classification"):
        LeptonModel(metric="rmse", budget="5s", verbose=0, engine=SinglePointTechnique(home=tmp_path)).train(
            churn, label="churned")
    with pytest.raises(ConfigError, match="unknown metric 'f2'"):
        LeptonModel(metric="f2")._search_config(SinglePointTechnique(home=tmp_path), None)


def test_a_threshold_tuned_for_the_metric_is_what_predict_serve_and_evaluate_use(churn, tmp_path):
    from lepton_ai import load_model, save_model

    model = LeptonModel(objective="accuracy", metric="f1", budget="10s", families="linear,gbdt", max_trials=4,
                        verbose=0, engine=SinglePointTechnique(home=tmp_path / "home")).train(churn, label="churned")
    tuned = [t for t in model.result_.trials if t.ok and t.threshold is not None]
    assert tuned and all(0 < t.threshold < 1 for t in tuned)
    threshold = model.chosen.threshold
    proba = model.predict_proba(churn)
    expected = np.where(proba[:, 1] >= threshold, "yes", "no") if threshold is not None else \
        np.asarray(model.classes_)[proba.argmax(axis=1)]
    np.testing.assert_array_equal(model.predict(churn), expected)
    np.testing.assert_array_equal(model.labels(proba), expected)
    if threshold is not None:
        assert model.evaluate(churn)["threshold"] == threshold
    saved = save_model(tmp_path / "model", model)
    again = load_model(saved)
    assert again.chosen.threshold == threshold
    np.testing.assert_array_equal(again.predict(churn), expected)
