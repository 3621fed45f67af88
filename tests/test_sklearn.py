"""LeptonAI as a scikit-learn estimator: Pipeline, cross_val_score, clone, params, score, and
scikit-learn's own estimator checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import load_diabetes, load_wine
from sklearn.exceptions import NotFittedError
from sklearn.metrics import r2_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from lepton_ai import LeptonAI

PARAMS = {"budget", "objective", "families", "task", "seed", "max_trials", "verbose", "metric"}


@pytest.fixture(scope="module")
def wine() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_wine(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def diabetes() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_diabetes(return_X_y=True)
    return X[:200], y[:200]


@pytest.fixture(scope="module")
def fitted(wine) -> LeptonAI:
    X, y = wine
    return LeptonAI(budget="10s", families="linear", max_trials=3).fit(X[::2], y[::2])


# ---- parameters ----------------------------------------------------------------------------------


def test_get_params_and_set_params() -> None:
    est = LeptonAI(budget="5s", families="linear")
    assert set(est.get_params()) == PARAMS
    assert est.get_params()["budget"] == "5s"
    assert est.set_params(budget="7s", seed=3) is est
    assert (est.budget, est.seed) == ("7s", 3)
    with pytest.raises(ValueError, match="Invalid parameter 'learning_rate'"):
        est.set_params(learning_rate=0.1)


def test_clone_copies_params_not_the_fitted_model(fitted, wine) -> None:
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "model_")
    with pytest.raises(NotFittedError):
        copy.predict(wine[0])


def test_estimator_type_follows_the_task_parameter() -> None:
    assert is_classifier(LeptonAI())
    assert is_classifier(LeptonAI(task="classification"))
    assert is_regressor(LeptonAI(task="regression"))


# ---- fitting, predicting, scoring ----------------------------------------------------------------


def test_predict_proba_rows_sum_to_one_in_classes_order(fitted, wine) -> None:
    X, y = wine
    proba = fitted.predict_proba(X[1::2])
    assert proba.shape == (len(X[1::2]), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fitted.classes_, [0, 1, 2])
    np.testing.assert_array_equal(fitted.classes_[proba.argmax(axis=1)], fitted.predict(X[1::2]))
    assert fitted.n_features_in_ == 13


def test_score_is_accuracy_for_classification(fitted, wine) -> None:
    X, y = wine
    accuracy = float(np.mean(fitted.predict(X[1::2]) == y[1::2]))
    assert fitted.score(X[1::2], y[1::2]) == accuracy > 0.85


def test_string_labels_come_back_as_strings() -> None:
    X, y = load_wine(return_X_y=True)
    names = np.array(["barolo", "grignolino", "barbera"])[y]
    est = LeptonAI(budget="10s", families="linear", max_trials=3).fit(X, names)
    assert set(est.classes_) == set(names)
    assert set(est.predict(X[:10])) <= set(names)
    assert est.score(X, names) > 0.85


@pytest.mark.parametrize("task", ["regression", "auto"])
def test_score_is_r2_for_regression(diabetes, task: str) -> None:
    # task="auto" reads a continuous y as regression: R² score, and no predict_proba.
    X, y = diabetes
    est = LeptonAI(budget="10s", families="linear", task=task, max_trials=3).fit(X[:150], y[:150])
    assert est.model_.schema.task == "regression"
    assert not hasattr(est, "predict_proba")
    assert not hasattr(est, "classes_")
    assert est.score(X[150:], y[150:]) == pytest.approx(r2_score(y[150:], est.predict(X[150:])))


def test_dataframe_input_keeps_feature_names(wine) -> None:
    X, y = wine
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    est = LeptonAI(budget="10s", families="linear", max_trials=3).fit(frame, y)
    np.testing.assert_array_equal(est.feature_names_in_, frame.columns)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        from_array = est.predict(X[:5])  # an array is read by position, as in scikit-learn
    np.testing.assert_array_equal(est.predict(frame.iloc[:5]), from_array)


def test_dataframe_with_unnamed_columns_then_arrays(wine) -> None:
    X, y = wine
    est = LeptonAI(budget="10s", families="linear", max_trials=3).fit(pd.DataFrame(X), y)
    assert not hasattr(est, "feature_names_in_")
    np.testing.assert_array_equal(est.predict(X[:5]), est.predict(pd.DataFrame(X[:5])))


def test_sparse_input_is_refused_with_a_clear_message(wine) -> None:
    from scipy import sparse

    X, y = wine
    with pytest.raises(ValueError, match="Sparse data was passed to LeptonAI, but dense data is required"):
        LeptonAI(budget="10s", families="linear", max_trials=3).fit(sparse.csr_matrix(X), y)


def test_regression_reads_an_object_y_of_numbers(diabetes) -> None:
    X, y = diabetes
    est = LeptonAI(budget="10s", families="linear", task="regression", max_trials=3).fit(X, y.astype(object))
    assert est.model_.schema.task == "regression"
    assert est.score(X, y) > 0.3


# ---- composition -----------------------------------------------------------------------------------


def test_in_a_pipeline(wine) -> None:
    X, y = wine
    pipe = Pipeline([("scale", StandardScaler()), ("lepton", LeptonAI(budget="10s", families="linear", max_trials=3))])
    pipe.fit(X[::2], y[::2])
    assert pipe.score(X[1::2], y[1::2]) > 0.85
    np.testing.assert_allclose(pipe.predict_proba(X[1::2]).sum(axis=1), 1.0)
    pipe.set_params(lepton__budget="5s")
    assert pipe.named_steps["lepton"].budget == "5s"


def test_cross_val_score_classification(wine) -> None:
    X, y = wine
    estimator = make_pipeline(StandardScaler(), LeptonAI(budget="10s", families="linear", max_trials=3))
    scores = cross_val_score(estimator, X, y,
                             cv=3)
    assert scores.shape == (3,)
    assert scores.min() > 0.85


def test_cross_val_score_regression(diabetes) -> None:
    X, y = diabetes
    scores = cross_val_score(LeptonAI(budget="10s", families="linear", task="regression", max_trials=3), X, y, cv=3)
    assert scores.shape == (3,)
    assert scores.min() > 0.2  # R²: diabetes is a noisy target


def test_sample_weight_of_ones_is_the_same_fit_as_none(wine) -> None:
    X, y = wine
    est = LeptonAI(budget="10s", families="linear", max_trials=2, objective="accuracy")
    plain = clone(est).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(clone(est).fit(X, y, sample_weight=np.ones(len(y))).predict_proba(X), plain)


def test_sample_weight_moves_the_fit_and_the_score(wine) -> None:
    X, y = wine
    weights = np.where(y == 0, 50.0, 1.0)
    est = LeptonAI(budget="10s", families="linear", max_trials=2, objective="accuracy")
    plain = clone(est).fit(X[:, :2], y).predict_proba(X[:, :2])[:, 0].mean()
    weighted = clone(est).fit(X[:, :2], y, sample_weight=weights)
    assert weighted.predict_proba(X[:, :2])[:, 0].mean() > plain
    expected = float(np.average(weighted.predict(X[:, :2]) == y, weights=weights))
    assert weighted.score(X[:, :2], y, sample_weight=weights) == pytest.approx(expected)


def test_sample_weight_through_a_pipeline_and_metadata_routing(wine) -> None:
    import sklearn

    X, y = wine
    weights = np.where(y == 0, 50.0, 1.0)
    est = LeptonAI(budget="10s", families="linear", max_trials=2, objective="accuracy")
    direct = clone(est).fit(StandardScaler().fit_transform(X), y, sample_weight=weights)
    pipe = make_pipeline(StandardScaler(), clone(est)).fit(X, y, leptonai__sample_weight=weights)
    np.testing.assert_allclose(pipe.predict_proba(X), direct.predict_proba(StandardScaler().fit_transform(X)))
    with sklearn.config_context(enable_metadata_routing=True):
        routed = make_pipeline(StandardScaler().set_fit_request(sample_weight=False),
                               clone(est).set_fit_request(sample_weight=True))
        routed.fit(X, y, sample_weight=weights)
        np.testing.assert_allclose(routed.predict_proba(X), pipe.predict_proba(X))


@pytest.mark.parametrize(("weights", "message"), [
    (np.ones(3), r"one weight per row of X \(178\); got shape \(3,\)"),
    (np.full(178, -1.0), "negative values: row 0"),
    (np.full(178, np.nan), "missing values: row 0"),
    (np.zeros(178), "every value of sample_weight is zero"),
])
def test_bad_sample_weights_are_refused(wine, weights, message) -> None:
    X, y = wine
    with pytest.raises(ValueError, match=message):
        LeptonAI(budget="5s", families="linear", max_trials=1).fit(X, y, sample_weight=weights)


# ---- scikit-learn's estimator checks ---------------------------------------------------------------

# Checks that do not apply by design, with the reason.
_NOT_APPLICABLE = {
    "check_classifiers_regression_target": (
        "task='auto' infers regression from a continuous target instead of refusing it; "
        "task='classification' is the way to insist on classes"
    ),
    **{check: (
        "the search drops exact duplicate rows of unweighted data and splits rows into folds or a dev set, "
        "so repeating a row is not the same data as weighting it (weights ones = no weights is tested below)"
    ) for check in ("check_sample_weight_equivalence_on_dense_data",)},
}
_REGRESSION_NOT_APPLICABLE = {k: v for k, v in _NOT_APPLICABLE.items() if k != "check_classifiers_regression_target"}


# scikit-learn's checks fit twice and compare predictions. The `accuracy` objective chooses from the
# data alone (dev metric, then dev loss); `balanced` weighs measured latency, which a loaded machine
# can move enough between two fits to change the choice.
def test_check_estimator_classification() -> None:
    check_estimator(LeptonAI(budget="10s", families="linear", max_trials=3, objective="accuracy"),
                    expected_failed_checks=_NOT_APPLICABLE)


def test_check_estimator_regression() -> None:
    estimator = LeptonAI(budget="10s", families="linear", task="regression", max_trials=3, objective="accuracy")
    check_estimator(estimator, expected_failed_checks=_REGRESSION_NOT_APPLICABLE)


@pytest.mark.slow
@pytest.mark.parametrize("task", ["auto", "regression"])
def test_check_estimator_every_family(task: str) -> None:
    expected = _NOT_APPLICABLE if task == "auto" else _REGRESSION_NOT_APPLICABLE
    estimator = LeptonAI(budget="60s", task=task, max_trials=7, objective="accuracy")  # see the note above
    check_estimator(estimator, expected_failed_checks=expected)
