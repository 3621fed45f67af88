"""Linear models: logistic regression for classes, ridge regression for quantities.

Small or wide tables are often won by a well-regularised linear model (on breast_cancer a plain
logistic regression beats default LightGBM), and a linear model predicts a row in microseconds.
Prediction is a NumPy matrix product over the stored weights, not a call into scikit-learn.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ...features.prepared import Prepared
from ...files import load_arrays, save_arrays
from ..base import Budget, Cost, Domain, FitReport, ModelFamily

__all__ = ["LinearFamily", "expand_classes"]


class LinearFamily(ModelFamily):
    """Logistic (classification) or ridge (regression) regression on the dense view.

    ``C`` is the inverse regularisation strength for both tasks (ridge uses ``alpha = 1 / C``).
    """

    name = "linear"

    def __init__(self, *, C: float = 1.0, max_iter: int = 500) -> None:
        self.C = C
        self.max_iter = max_iter

    def fit(self, train: Prepared, dev: Prepared | None = None, *, budget: Budget | None = None) -> LinearFamily:
        self._check_float("C", 0.0)
        self._check_int("max_iter", 1)
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression, Ridge

        self._set_task(train)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            if train.task == "classification":
                model = LogisticRegression(C=self.C, max_iter=self.max_iter, tol=1e-4)
                model.fit(train.X, train.y, sample_weight=train.weight)
                coef, intercept = model.coef_, model.intercept_
                coef, intercept = expand_classes(coef, intercept, model.classes_, train.n_classes)
            else:
                model = Ridge(alpha=1.0 / self.C)
                model.fit(train.X, train.y, sample_weight=train.weight)
                coef, intercept = np.atleast_2d(model.coef_), np.atleast_1d(model.intercept_)
        self.converged_ = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        self.coef_ = np.ascontiguousarray(coef.T, dtype=np.float32)  # (n_features, k)
        self.intercept_ = np.asarray(intercept, dtype=np.float32)
        return self

    def _raw_predict(self, X: np.ndarray) -> np.ndarray:
        # In float64: a float32 product rounds differently by batch shape, so a row's output would
        # depend on the rows it is predicted with (micro-batching in serving, predict on a subset).
        z = np.asarray(X, dtype=np.float64) @ self.coef_.astype(np.float64) + self.intercept_
        if self.task_ == "regression":
            return z[:, 0]
        if z.shape[1] == 1:  # binary: one logit
            p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.column_stack([1.0 - p1, p1])
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def fit_report(self) -> FitReport:
        """Whether the solver converged within ``max_iter``."""
        return FitReport(converged=self.converged_)

    def estimate_cost(self, n_rows: int, n_features: int) -> Cost:
        work = n_rows * max(n_features, 1)
        return Cost(fit_seconds=0.02 + work * 4e-7, predict_ms_per_row=0.01, memory_bytes=8 * work + 10**6)

    @classmethod
    def search_space(cls, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {"C": Domain("float", 1e-3, 1e3, log=True)}

    @classmethod
    def starting_points(cls, n_rows: int, n_features: int) -> list[dict[str, Any]]:
        return [{"C": 1.0}, {"C": 0.1}, {"C": 10.0}]

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"C": 1.0, "max_iter": 100}

    def _save_weights(self, directory: Path) -> list[Path]:
        return [save_arrays(directory / "weights.safetensors", {"coef": self.coef_, "intercept": self.intercept_})]

    def _load_weights(self, directory: Path, state: dict[str, Any]) -> None:
        arrays = load_arrays(directory / "weights.safetensors")
        self.coef_, self.intercept_ = arrays["coef"], arrays["intercept"]
        self.converged_ = bool(state.get("converged", True))

    def _state_json(self) -> dict[str, Any]:
        return {"converged": self.converged_}


def expand_classes(coef: np.ndarray, intercept: np.ndarray, seen: np.ndarray, n_classes: int) -> tuple:
    """Give classes absent from a training split a very low logit, so outputs keep all columns."""
    if len(seen) == n_classes:
        return coef, intercept
    if coef.shape[0] == 1:  # binary model over two of the classes: rebuild as multinomial logits
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    full_coef = np.zeros((n_classes, coef.shape[1]))
    full_intercept = np.full(n_classes, -30.0)
    full_coef[seen] = coef
    full_intercept[seen] = intercept
    return full_coef, full_intercept
