"""The primary metric and the evaluation reports, checked against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from lepton_ai.errors import ConfigError
from lepton_ai.models.metrics import (
    METRICS,
    classification_report,
    make_metric,
    primary_metric,
    primary_metric_name,
    regression_report,
    resolve_metric,
)

_KEYS = {"task", "n_rows", "accuracy", "balanced_accuracy", "precision_macro", "recall_macro", "f1_macro",
         "log_loss", "confusion_matrix", "per_class"}


def _one_hot_like(pred: list[int], n_classes: int) -> np.ndarray:
    """Probabilities whose argmax is ``pred``: 0.6 on the predicted class, the rest shared."""
    proba = np.full((len(pred), n_classes), 0.4 / (n_classes - 1))
    proba[np.arange(len(pred)), pred] = 0.6
    return proba


def test_multiclass_report_has_every_metric_and_no_roc_auc() -> None:
    y_true = np.array([0, 0, 1, 1, 2, 2])
    proba = _one_hot_like([0, 1, 1, 1, 2, 0], 3)
    report = classification_report(y_true, proba, ["a", "b", "c"])
    assert set(report) == _KEYS
    assert report["n_rows"] == 6
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["confusion_matrix"] == {"labels": ["a", "b", "c"],
                                          "matrix": [[1, 1, 0], [0, 2, 0], [1, 0, 1]]}
    assert report["per_class"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert report["per_class"]["b"]["precision"] == pytest.approx(2 / 3)
    assert report["recall_macro"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert report["log_loss"] == pytest.approx(-np.log(0.6) * 4 / 6 - np.log(0.2) * 2 / 6)


def test_binary_report_adds_roc_auc() -> None:
    y_true = np.array([0, 0, 1, 1])
    p1 = np.array([0.1, 0.4, 0.35, 0.8])
    report = classification_report(y_true, np.column_stack([1 - p1, p1]), ["no", "yes"])
    assert set(report) == _KEYS | {"roc_auc"}
    assert report["roc_auc"] == pytest.approx(0.75)
    assert report["accuracy"] == pytest.approx(0.75)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true:UserWarning")
def test_binary_report_on_one_class_leaves_roc_auc_out() -> None:
    # ROC-AUC is undefined when the rows hold one class; the rest of the report still works.
    report = classification_report(np.array([1, 1, 1]), _one_hot_like([1, 0, 1], 2), [0, 1])
    assert "roc_auc" not in report
    assert report["confusion_matrix"]["matrix"] == [[0, 0], [1, 2]]


def test_class_absent_from_the_rows_keeps_its_row_and_column() -> None:
    report = classification_report(np.array([0, 1, 0]), _one_hot_like([0, 1, 1], 3), ["a", "b", "c"])
    assert report["confusion_matrix"]["matrix"] == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
    assert report["per_class"]["c"]["support"] == 0
    assert np.isfinite(report["log_loss"])


def test_regression_report() -> None:
    report = regression_report(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 5.0]))
    assert report == {"task": "regression", "n_rows": 4, "r2": pytest.approx(0.8), "rmse": pytest.approx(0.5),
                      "mae": pytest.approx(0.25)}


def test_primary_metric() -> None:
    assert primary_metric_name("classification") == "accuracy"
    assert primary_metric_name("regression") == "r2"
    assert primary_metric("classification", np.array([0, 1, 2, 2]), _one_hot_like([0, 1, 1, 2], 3)) == 0.75
    assert primary_metric("regression", np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 5.0])) \
        == pytest.approx(0.8)


# ---- the metric a search ranks by ---------------------------------------------------------------

_PROBA = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.7, 0.3]])
_Y = np.array([0, 1, 0, 1])


@pytest.mark.parametrize("name, expected", [
    ("accuracy", 0.5), ("balanced_accuracy", 0.5), ("f1", 0.5), ("precision", 0.5), ("recall", 0.5),
    ("roc_auc", 0.75), ("mcc", 0.0),
])
def test_classification_metrics_score_as_scikit_learn_does(name, expected):
    assert resolve_metric(name, "classification").score("classification", _Y, _PROBA) == pytest.approx(expected)


def test_losses_are_negated_so_higher_is_better_everywhere():
    y, good, bad = np.array([1.0, 2.0, 3.0]), np.array([1.1, 2.0, 2.9]), np.array([2.0, 3.0, 1.0])
    rmse = resolve_metric("rmse", "regression")
    assert rmse.score("regression", y, good) > rmse.score("regression", y, bad)
    assert rmse.score("regression", y, good) == pytest.approx(-np.sqrt(0.02 / 3))
    assert resolve_metric("log_loss", "classification").score("classification", _Y, _PROBA) < 0
    assert rmse.perfect == 0.0 and METRICS["f1"].perfect == 1.0


def test_an_unknown_name_lists_the_metrics_of_the_task():
    with pytest.raises(ConfigError, match=r"unknown metric 'f2'; for classification use one of: accuracy, "
                                          r"balanced_accuracy, f1.*roc_auc, log_loss"):
        resolve_metric("f2", "classification")


def test_a_metric_of_the_other_task_is_refused_naming_both():
    with pytest.raises(ConfigError, match=r"metric 'rmse' is for regression, and this task is classification"):
        resolve_metric("rmse", "classification")


def test_a_bare_function_must_say_its_direction():
    with pytest.raises(ConfigError, match=r"make_metric\(function, greater_is_better=...\)"):
        resolve_metric(lambda y, p: 0.0, "classification")


def test_a_metric_of_your_own_that_raises_or_returns_nan_is_named():
    broken = make_metric(lambda y, p: 1 / 0, greater_is_better=True, name="broken")
    with pytest.raises(ConfigError, match="metric 'broken' raised ZeroDivisionError"):
        broken.score("classification", _Y, _PROBA)
    nan = make_metric(lambda y, p: float("nan"), greater_is_better=False, needs="values", name="nan")
    with pytest.raises(ConfigError, match="metric 'nan' returned nan"):
        nan.score("regression", np.array([1.0]), np.array([1.0]))


def test_a_metric_of_your_own_gets_what_it_asks_for():
    seen = {}

    def top_class_share(y_true, proba):
        seen["shape"] = proba.shape
        return float(np.mean(proba.argmax(axis=1) == y_true))

    metric = make_metric(top_class_share, greater_is_better=True, needs="proba")
    assert metric.score("classification", _Y, _PROBA) == 0.5 and seen["shape"] == (4, 2)
    assert metric.name == "top_class_share" and metric.task == "classification"


def test_a_threshold_is_tuned_when_it_beats_the_most_probable_class():
    from lepton_ai.models.metrics import predicted_labels, tune_threshold

    rng = np.random.default_rng(0)
    y = (rng.random(2_000) < 0.1).astype(np.int64)
    p1 = np.clip(0.05 + 0.3 * y + rng.normal(scale=0.1, size=len(y)), 0.001, 0.999)  # positives rarely reach 0.5
    proba = np.column_stack([1 - p1, p1])
    f1 = resolve_metric("f1", "classification")
    threshold = tune_threshold(f1, y, proba)
    assert threshold is not None and threshold < 0.5
    assert f1.score("classification", y, proba, threshold) > f1.score("classification", y, proba) + 0.2
    np.testing.assert_array_equal(predicted_labels(proba, threshold), (p1 >= threshold).astype(int))
    # Probabilities that already separate the classes at 0.5 keep the most probable class.
    clean = np.column_stack([1 - y * 0.9 - 0.05, y * 0.9 + 0.05])
    assert tune_threshold(f1, y, clean) is None
    assert tune_threshold(resolve_metric("roc_auc", "classification"), y, proba) is None  # ranks, no labels


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_named_metric_weighs_the_rows_as_scikit_learn_does(name):
    rng = np.random.default_rng(4)
    metric = METRICS[name]
    weight = rng.uniform(0.0, 3.0, 80)
    if metric.task == "classification":
        y_true = rng.integers(0, 2, 80)
        proba = np.clip(0.3 * y_true + rng.uniform(0, 0.7, 80), 0.01, 0.99)
        output = np.column_stack([1 - proba, proba])
        given = output if metric.needs == "proba" else output.argmax(axis=1)
    else:
        y_true = rng.normal(10, 2, 80)
        output = y_true + rng.normal(0, 1, 80)
        given = output
    sign = 1.0 if metric.greater_is_better else -1.0
    expected = sign * metric.function(y_true, given, sample_weight=weight)
    assert metric.score(metric.task, y_true, output, weight=weight) == pytest.approx(expected)
    assert metric.score(metric.task, y_true, output, weight=weight) != pytest.approx(
        metric.score(metric.task, y_true, output)) or name == "median_ae"


def test_a_metric_of_your_own_gets_the_weights_when_it_takes_them():
    seen = []

    def mine(y_true, y, sample_weight=None):
        seen.append(sample_weight)
        return float(np.average(y_true == y, weights=sample_weight))

    def unweighted(y_true, y):
        return float(np.mean(y_true == y))

    y_true, output = np.array([0, 1, 1]), np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9]])
    weighted = make_metric(mine, greater_is_better=True)
    assert weighted.takes_weight and not make_metric(unweighted, greater_is_better=True).takes_weight
    assert weighted.score("classification", y_true, output, weight=np.array([1.0, 0.0, 1.0])) == 1.0
    assert seen[-1].tolist() == [1.0, 0.0, 1.0]
    assert make_metric(unweighted, greater_is_better=True).score(
        "classification", y_true, output, weight=np.array([1.0, 0.0, 1.0])) == pytest.approx(2 / 3)


def test_reports_and_the_default_metric_are_weighted():
    y_true, output = np.array([0, 1, 1, 0]), np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.4, 0.6]])
    weight = np.array([1.0, 0.0, 1.0, 0.0])
    assert primary_metric("classification", y_true, output, weight) == 1.0
    report = classification_report(y_true, output, ["a", "b"], weight=weight)
    assert report["accuracy"] == 1.0 and report["weighted"] and report["per_class"]["b"]["support"] == 2
    values = regression_report(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 9.0]), np.array([1.0, 1.0, 0.0]))
    assert values["mae"] == 0.0 and values["weighted"]
