"""``LeptonAI``: lepton-ai as a scikit-learn estimator (Pipeline, cross_val_score, clone, GridSearchCV).

One estimator serves both tasks: ``task="auto"`` infers it from ``y`` at fit time, and the
estimator type (classifier or regressor, which decides stratified folds and the default score) follows
the ``task`` parameter: ``"regression"`` makes it a regressor, anything else a classifier.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .model import LeptonModel
from .models.metrics import primary_metric

__all__ = ["LeptonAI"]


def _can_predict_proba(estimator: LeptonAI) -> bool:
    fitted = getattr(estimator, "model_", None)
    if fitted is not None:
        return fitted.schema.task == "classification"
    return estimator.task != "regression"


class LeptonAI(BaseEstimator):  # type: ignore[misc]
    """A scikit-learn estimator that runs a lepton-ai search in ``fit`` and predicts with the chosen model.

    Parameters mirror :class:`~lepton_ai.LeptonModel`: ``budget`` (``"30s"``, ``"$0.01"``),
    ``objective``, ``families`` (e.g. ``"linear,gbdt"``), ``task`` (``"auto"``, ``"classification"``,
    ``"regression"``), ``seed``, ``max_trials``, ``verbose`` and ``metric`` (what ranks the candidates;
    ``score`` stays scikit-learn's accuracy or R²).
    """

    def __init__(self, budget: str | float = "30s", objective: str = "balanced",
                 families: str | Sequence[str] | None = None, task: str = "auto", seed: int = 0,
                 max_trials: int | None = None, verbose: int = 0, metric: Any = None) -> None:
        self.budget = budget
        self.metric = metric
        self.objective = objective
        self.families = families
        self.task = task
        self.seed = seed
        self.max_trials = max_trials
        self.verbose = verbose

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> LeptonAI:
        """Search models for ``X`` (rows × features) and ``y``; returns ``self``.

        ``sample_weight``: one weight per row (finite, >= 0, not all zero); every candidate fits
        with them and is ranked by the weighted metric. In a ``Pipeline``, pass
        ``pipe.fit(X, y, lepton__sample_weight=w)``, or with metadata routing on,
        ``LeptonAI().set_fit_request(sample_weight=True)``.
        """
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None.")
        frame = self._frame(X, fitting=True)
        y_array = np.asarray(y)
        if y_array.ndim == 2 and y_array.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected; it was raveled.",
                          DataConversionWarning, stacklevel=2)
            y_array = y_array.ravel()
        if self.task == "regression" and y_array.dtype == object:
            # As in scikit-learn, an object y that holds numbers is read as numbers; text stays text
            # and is refused by the data layer with its own message.
            y_array = pd.Series(y_array).infer_objects().to_numpy()
        if y_array.ndim != 1 or len(y_array) != len(frame):
            raise ValueError(f"y must be 1-D with one label per row of X ({len(frame)}); got shape {y_array.shape}.")
        if len(frame) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 samples; got 1 sample (n_samples=1).")
        weight = None
        if sample_weight is not None:
            weight = np.asarray(sample_weight, dtype=np.float64)  # the caller's array is never written to
            if weight.shape != (len(frame),):
                raise ValueError(f"sample_weight must be 1-D with one weight per row of X ({len(frame)}); got shape "
                                 f"{weight.shape}.")
        model = LeptonModel(objective=self.objective, budget=self.budget, families=self.families,
                            task=None if self.task == "auto" else self.task, seed=self.seed, max_trials=self.max_trials,
                            verbose=self.verbose, metric=self.metric)
        model.train((frame, y_array), weight=weight)
        self.model_ = model
        self.n_features_in_ = frame.shape[1]
        if model.schema.task == "classification":
            self.classes_ = np.asarray(model.schema.classes)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Labels (classification) or values (regression)."""
        check_is_fitted(self)
        return self.model_.predict(self._frame(X))

    @available_if(_can_predict_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_rows, n_classes)`` in the order of ``classes_``."""
        check_is_fitted(self)
        return self.model_.predict_proba(self._frame(X))

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy for classification, R² for regression (weighted when ``sample_weight`` is given)."""
        check_is_fitted(self)
        y_true = np.asarray(y).ravel()
        if self.model_.schema.task == "classification":
            return float(np.average(self.predict(X) == y_true, weights=sample_weight))
        if sample_weight is not None:
            from sklearn.metrics import r2_score

            return float(r2_score(y_true, self.predict(X), sample_weight=sample_weight))
        return primary_metric("regression", y_true, self.predict(X))

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags, RegressorTags

        tags = super().__sklearn_tags__()
        if self.task == "regression":
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        else:
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        tags.input_tags.allow_nan = True   # missing values are imputed (dense view) or routed by trees
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    def _frame(self, X: Any, fitting: bool = False) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            frame = X
            if fitting:
                names = [str(c) for c in X.columns]
                if all(isinstance(c, str) for c in X.columns):
                    self.feature_names_in_ = np.asarray(names, dtype=object)
                elif hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            return frame.set_axis([str(c) for c in X.columns], axis=1)
        if sparse.issparse(X):
            raise ValueError(f"Sparse data was passed to {type(self).__name__}, but dense data is required. "
                             "Use X.toarray() to convert it to a dense array.")
        array = np.asarray(X)
        if array.ndim != 2:
            raise ValueError(f"Expected 2D array, got {array.ndim}D array instead. Reshape your data either "
                             "using array.reshape(-1, 1) if it has a single feature or array.reshape(1, -1) "
                             "if it contains a single sample.")
        if np.iscomplexobj(array):
            raise ValueError("Complex data not supported.")
        for axis, what in ((0, "sample(s)"), (1, "feature(s)")):
            if array.shape[axis] == 0:
                raise ValueError(f"Found array with 0 {what} (shape={array.shape}) while a minimum of 1 is "
                                 f"required by {type(self).__name__}.")
        if fitting:
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
            return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
        check_is_fitted(self)
        if array.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {array.shape[1]} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        if hasattr(self, "feature_names_in_"):
            warnings.warn(f"X does not have valid feature names, but {type(self).__name__} was fitted with "
                          "feature names", UserWarning, stacklevel=3)
        # Columns by position, named as in fit (a DataFrame fitted under any names, or an array).
        return pd.DataFrame(array, columns=list(self.model_.schema.input_columns))
