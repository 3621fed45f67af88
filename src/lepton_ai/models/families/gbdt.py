"""Gradient-boosted trees (LightGBM): the strong default for tables with many rows.

Trains with early stopping on dev and a deadline callback, so a fit never outruns its budget;
runs deterministic (``deterministic=True``, fixed seed and threads) so the same data, seed and
thread count give the same model text byte for byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...features.prepared import Prepared
from ..base import Budget, Cost, Domain, FitReport, ModelFamily

__all__ = ["GBDTFamily"]

MODEL_FILE = "model.txt"
_PORTFOLIO_MAX_ROWS = 5000  # the sizes the starting-point portfolio was chosen on (3,000 rows at most)


class GBDTFamily(ModelFamily):
    """LightGBM boosting on the ``codes`` view (categories as codes, missing values routed by trees)."""

    name = "gbdt"
    view = "codes"
    length_param = "n_estimators"
    cost_per_class = True  # a multi-class booster grows one tree per class each round
    anytime = True  # the deadline stops the boosting; the trees so far are the model
    variant_kinds = ("gbdt-fast",)  # LightGBM's single-row fast path (models.derived.gbdt_fast)
    streams = True  # rows read a slice at a time go through LightGBM's Sequence

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        feature_fraction: float = 1.0,
        bagging_fraction: float = 1.0,
        lambda_l2: float = 0.0,
        early_stopping_rounds: int = 50,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.feature_fraction = feature_fraction
        self.bagging_fraction = bagging_fraction
        self.lambda_l2 = lambda_l2
        self.early_stopping_rounds = early_stopping_rounds

    def fit(self, train: Prepared, dev: Prepared | None = None, *, budget: Budget | None = None) -> GBDTFamily:
        import lightgbm as lgb

        self._check_params()
        budget = budget or Budget()
        self._set_task(train)
        params = self._lgb_params(train, budget)
        # Rows read a slice at a time (a table bigger than memory) are binned by LightGBM as it reads them.
        data = train.X if isinstance(train.X, np.ndarray) else _as_sequence(train.X)
        train_set = lgb.Dataset(data, label=train.y, weight=train.weight,
                                categorical_feature=train.categorical or "auto",
                                free_raw_data=not isinstance(data, np.ndarray), params={"verbose": -1})
        cut: list[bool] = []
        callbacks: list[Any] = [_deadline_callback(budget, cut)]
        valid_sets = []
        if dev is not None and dev.y is not None and len(dev.y) > 0:
            valid_sets = [lgb.Dataset(dev.X, label=dev.y, weight=dev.weight, reference=train_set)]
            callbacks.append(lgb.early_stopping(self.early_stopping_rounds, first_metric_only=True, verbose=False))
        booster = lgb.train(params, train_set, num_boost_round=self.n_estimators, valid_sets=valid_sets,
                            callbacks=callbacks)
        best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
        # Keep only the trees that early stopping chose: smaller files and faster predictions.
        self.booster_ = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
        self.n_trees_ = int(best)
        self.cut_at_deadline_ = bool(cut)
        return self

    @classmethod
    def streamed_row_bytes(cls, n_features: int, n_classes: int) -> float:
        """LightGBM's binned row (a byte per feature at 255 bins), its label, and per model output a
        gradient, a hessian (float32) and a score (float64), times what it allocates beside them
        (row indices for its partitions, the label's copies): a fit on 6.9 million rows of 20 features
        held 98 bytes a row of its own, 2.04 times those 48 (benchmarks/memory.py); 2.2 leaves room."""
        outputs = n_classes if n_classes > 2 else 1
        return 2.2 * (max(n_features, 1) + 12 + 16 * outputs)

    def fit_report(self) -> FitReport:
        """The trees early stopping kept, and whether the deadline stopped the boosting."""
        return FitReport(length=self.n_trees_, cut_at_deadline=self.cut_at_deadline_)

    @classmethod
    def refit_params(cls, params: dict[str, Any], report: FitReport) -> dict[str, Any]:
        """The number of trees early stopping chose on dev."""
        return {**params, "n_estimators": int(report.length or params.get("n_estimators", 200))}

    def _raw_predict(self, X: np.ndarray) -> np.ndarray:
        out = np.asarray(self.booster_.predict(X, num_threads=1), dtype=np.float64)
        if self.task_ == "classification" and out.ndim == 1:  # binary: the probability of class 1
            return np.column_stack([1.0 - out, out])
        return out

    def estimate_cost(self, n_rows: int, n_features: int) -> Cost:
        work = self.n_estimators * n_rows * max(n_features, 1)
        return Cost(fit_seconds=0.05 + work * 2.5e-9, predict_ms_per_row=0.02 + self.n_estimators * 5e-4,
                    memory_bytes=8 * n_rows * max(n_features, 1) + 20 * 10**6)

    @classmethod
    def search_space(cls, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "learning_rate": Domain("float", 0.01, 0.3, log=True),
            "num_leaves": Domain("int", 4, 255, log=True),
            "min_child_samples": Domain("int", 2, 100, log=True),
            "feature_fraction": Domain("float", 0.4, 1.0),
            "bagging_fraction": Domain("float", 0.5, 1.0),
            "lambda_l2": Domain("float", 1e-3, 10.0, log=True),
        }

    @classmethod
    def starting_points(cls, n_rows: int, n_features: int) -> list[dict[str, Any]]:
        """On small tables (the cross-validated regime), the portfolio ``benchmarks/portfolio.py``
        chose: the three configurations that together scored best over 15 generated and bundled
        sets none of the benchmarks uses (results/2026-12-02-portfolio-gbdt.txt); larger tables keep
        wider trees."""
        if n_rows < _PORTFOLIO_MAX_ROWS:
            return [
                {"n_estimators": 500, "learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 5, "lambda_l2": 1.0},
                {"n_estimators": 1000, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 5,
                 "feature_fraction": 0.7, "lambda_l2": 1.0},
                {"n_estimators": 500, "learning_rate": 0.1, "num_leaves": 15, "min_child_samples": 20,
                 "feature_fraction": 0.7, "lambda_l2": 1.0},
            ]
        small = n_rows < 2000
        min_child = max(2, min(20, n_rows // 50))
        return [
            {"n_estimators": 200, "learning_rate": 0.1, "num_leaves": 7 if small else 31,
             "min_child_samples": min_child},
            {"n_estimators": 600, "learning_rate": 0.05, "num_leaves": 15 if small else 63,
             "min_child_samples": min_child, "feature_fraction": 0.8, "bagging_fraction": 0.8, "lambda_l2": 1.0},
        ]

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"n_estimators": 5, "num_leaves": 4, "min_child_samples": 2}

    def _check_params(self) -> None:
        self._check_int("n_estimators", 1)
        self._check_float("learning_rate", 0.0, 1.0, include_high=True)
        self._check_int("num_leaves", 2)
        self._check_int("min_child_samples", 0)
        self._check_float("feature_fraction", 0.0, 1.0, include_high=True)
        self._check_float("bagging_fraction", 0.0, 1.0, include_high=True)
        self._check_float("lambda_l2", 0.0, include_low=True)
        self._check_int("early_stopping_rounds", 1)

    def _lgb_params(self, train: Prepared, budget: Budget) -> dict[str, Any]:
        if train.task == "regression":
            objective: dict[str, Any] = {"objective": "regression", "metric": "l2"}
        elif train.n_classes == 2:
            objective = {"objective": "binary", "metric": "binary_logloss"}
        else:
            objective = {"objective": "multiclass", "num_class": train.n_classes, "metric": "multi_logloss"}
        bagging = self.bagging_fraction < 1.0
        return {
            **objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1 if bagging else 0,
            "lambda_l2": self.lambda_l2,
            "num_threads": budget.n_threads,
            "seed": budget.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
            "min_data_per_group": max(2, min(100, len(train.X) // 20)),
            "cat_smooth": 10,
        }

    def _save_weights(self, directory: Path) -> list[Path]:
        path = directory / MODEL_FILE
        path.write_text(self.booster_.model_to_string())
        return [path]

    def _load_weights(self, directory: Path, state: dict[str, Any]) -> None:
        import lightgbm as lgb

        self.booster_ = lgb.Booster(model_file=str(directory / MODEL_FILE))
        self.n_trees_ = self.booster_.current_iteration()
        self.cut_at_deadline_ = False  # not known once saved; only the trial that trained it reads it


def _deadline_callback(budget: Budget, cut: list[bool]) -> Any:
    """Stops the boosting at the budget's deadline; appends to ``cut`` when it does."""
    import lightgbm as lgb

    def callback(env: Any) -> None:
        if budget.expired():
            cut.append(True)
            raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])

    callback.order = 5  # type: ignore[attr-defined]
    return callback



def _as_sequence(rows: Any) -> Any:
    """LightGBM's ``Sequence`` over any object with ``len``, slicing and ``batch_size``."""
    import lightgbm as lgb

    class Rows(lgb.Sequence):  # type: ignore[misc]
        batch_size = int(getattr(rows, "batch_size", 4096))

        def __getitem__(self, index: Any) -> np.ndarray:
            return np.asarray(rows[index], dtype=np.float64)  # LightGBM samples bin bounds from doubles

        def __len__(self) -> int:
            return len(rows)

    return Rows()
