"""One runner per benchmarked system. ``run.py`` calls each in a fresh subprocess (``child.py``).

A runner takes the train and test splits, the task, the budget in seconds (``None`` for systems that
take none) and a scratch folder, fits on train, and returns ``{row name: measurements}``: the test
metric, the fit's wall seconds, single-row p50 ms through the system's own Python API (a one-row
DataFrame in, a prediction out) and batch rows/s (see ``harness.measure``). Peers are imported inside
their runner so that a missing one costs nothing until it is asked for.
"""

from __future__ import annotations

import importlib.util
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from harness import LABEL, measure

Rows = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class System:
    key: str
    rows: tuple[str, ...]  # the row names its runner returns, in print order
    budgeted: bool  # run once per budget (else once per repeat, whatever the budget)
    modules: tuple[str, ...]  # importable modules it needs; missing ones skip it with a printed line
    install: str  # what to install when it is missing
    runner: Callable[..., Rows]

    def missing(self) -> list[str]:
        return [m for m in self.modules if _find(m) is None]


def _find(module: str) -> Any:
    try:
        return importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None


# ---- lepton-ai ---------------------------------------------------------------------------------
LEPTON_DEFAULT, LEPTON_ACCURACY, LEPTON_SPEED = "lepton-ai (default)", "lepton-ai (accuracy)", "lepton-ai (speed)"


def run_lepton(X: pd.DataFrame, y: np.ndarray, Xt: pd.DataFrame, yt: np.ndarray, task: str, budget: float,
               workdir: Path, separate_speed_fit: bool = False, **_: Any) -> Rows:
    """``LeptonModel(budget=B, verbose=0)`` (default objective), and ``objective="accuracy"`` and
    ``objective="speed"`` on the same search.

    The objective only picks a trial from the measured frontier after the search (``LeptonModel.train``
    does not pass it to the engine), so the speed choice is made with ``select`` on the default model's
    search result: the same as training ``LeptonModel(objective="speed")``, without a second budget.
    The default row is measured first, as a user gets it from ``train``: ``select`` loads every kept
    model (ModelCatalog's membership test), and in this lepton-ai that alone changed a linear model's
    batch rows/s in the same process (2.5M -> 5.5M on breast_cancer), so the speed row's rows/s is taken
    in that state. ``--separate-speed-fit`` measures the speed choice in a process of its own.
    """
    from lepton_ai import LeptonModel

    train = X.assign(**{LABEL: y})
    start = time.perf_counter()
    model = LeptonModel(budget=f"{budget:g}s", verbose=0, task=task).train(train, label=LABEL)
    wall = time.perf_counter() - start
    trials = model.result_.trials if model.result_ is not None else []
    info = {"trials": len(trials), "ok_trials": sum(t.ok for t in trials)}
    rows = {LEPTON_DEFAULT: measure(model.predict, Xt, yt, task, wall) | {"model": model.chosen.family} | info}
    for row, objective in ((LEPTON_ACCURACY, "accuracy"), (LEPTON_SPEED, "speed")):
        if row == LEPTON_SPEED and separate_speed_fit:
            continue
        other = LeptonModel(budget=f"{budget:g}s", verbose=0, task=task, objective=objective)
        other.result_, other.chosen_ = model.result_, model.chosen_
        other.select()
        rows[row] = measure(other.predict, Xt, yt, task, wall) | {"model": other.chosen.family} | info
    return rows


def run_lepton_speed(X: pd.DataFrame, y: np.ndarray, Xt: pd.DataFrame, yt: np.ndarray, task: str,
                     budget: float, workdir: Path, **_: Any) -> Rows:
    """``LeptonModel(budget=B, verbose=0, objective="speed")`` trained on its own (``--separate-speed-fit``)."""
    from lepton_ai import LeptonModel

    train = X.assign(**{LABEL: y})
    start = time.perf_counter()
    model = LeptonModel(budget=f"{budget:g}s", verbose=0, task=task, objective="speed").train(train, label=LABEL)
    wall = time.perf_counter() - start
    return {LEPTON_SPEED: measure(model.predict, Xt, yt, task, wall) | {"model": model.chosen.family}}


# ---- plain baselines ---------------------------------------------------------------------------
def run_linear(X: pd.DataFrame, y: np.ndarray, Xt: pd.DataFrame, yt: np.ndarray, task: str, budget: float | None,
               workdir: Path, **_: Any) -> Rows:
    """Standardise (one-hot for text columns) + LogisticRegression, or Ridge for regression."""
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), make_column_selector(dtype_include="number")),
        (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_exclude="number")),
    )
    est = LogisticRegression(max_iter=1000) if task == "classification" else Ridge()
    model = make_pipeline(pre, est)
    start = time.perf_counter()
    model.fit(X, y)
    wall = time.perf_counter() - start
    return {"logistic/ridge": measure(model.predict, Xt, yt, task, wall) | {"model": type(est).__name__[:8]}}


def _categorical(X: pd.DataFrame, Xt: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Text columns as pandas categoricals with the train split's categories (LightGBM's own way)."""
    Xc, Xtc = X.copy(), Xt.copy()
    for c in X.columns:
        if not pd.api.types.is_numeric_dtype(X[c]):
            dtype = pd.CategoricalDtype(sorted(X[c].dropna().unique()))
            Xc[c], Xtc[c] = X[c].astype(dtype), Xt[c].astype(dtype)
    return Xc, Xtc


def run_lightgbm(X: pd.DataFrame, y: np.ndarray, Xt: pd.DataFrame, yt: np.ndarray, task: str,
                 budget: float | None, workdir: Path, **_: Any) -> Rows:
    """LightGBM with default parameters; text columns as categoricals."""
    import lightgbm as lgb

    Xc, Xtc = _categorical(X, Xt)
    model = lgb.LGBMClassifier(verbose=-1) if task == "classification" else lgb.LGBMRegressor(verbose=-1)
    start = time.perf_counter()
    model.fit(Xc, y)
    wall = time.perf_counter() - start
    return {"LightGBM defaults": measure(model.predict, Xtc, yt, task, wall) | {"model": "lgbm"}}


# ---- AutoML peers ------------------------------------------------------------------------------
FLAML_ROW = "FLAML AutoML"


def _flaml_estimators(task: str) -> list[str]:
    """FLAML's own default estimator list for ``task``, less CatBoost.

    FLAML cannot interrupt a CatBoost trial, so with CatBoost installed (AutoGluon's extra brings it)
    a 10 s budget ran for up to 382 s (../shared/datasets/BASELINES.md); ``--flaml-catboost`` keeps it.
    """
    try:
        from flaml.automl.task.factory import task_factory

        names = list(task_factory(task).default_estimator_list("auto"))
    except Exception:  # an internal API: fall back to FLAML 2.x's list
        names = ["lgbm", "rf", "xgboost", "extra_tree", "xgb_limitdepth", "sgd"]
        names += ["catboost"] if _find("catboost") else []
        names += ["lrl1"] if task == "classification" else []
    return [n for n in names if n != "catboost"]


def run_flaml(X: pd.DataFrame, y: np.ndarray, Xt: pd.DataFrame, yt: np.ndarray, task: str, budget: float,
              workdir: Path, flaml_catboost: bool = False, **_: Any) -> Rows:
    """``flaml.AutoML().fit(X, y, task=..., time_budget=B)``; otherwise FLAML's defaults."""
    from flaml import AutoML

    automl = AutoML()
    kwargs: dict[str, Any] = {"task": task, "time_budget": budget, "verbose": 0, "log_file_name": ""}
    if not flaml_catboost:
        kwargs["estimator_list"] = _flaml_estimators(task)
    start = time.perf_counter()
    automl.fit(X_train=X, y_train=y, **kwargs)
    wall = time.perf_counter() - start
    return {FLAML_ROW: measure(automl.predict, Xt, yt, task, wall) | {"model": str(automl.best_estimator)}}


AUTOGLUON_ROW = "AutoGluon Tabular"


def run_autogluon(X: pd.DataFrame, y: np.ndarray, Xt: pd.DataFrame, yt: np.ndarray, task: str, budget: float,
                  workdir: Path, **_: Any) -> Rows:
    """``TabularPredictor(label=...).fit(train, time_limit=B)`` with its default preset; the best model is
    then persisted in memory (``predictor.persist()``, AutoGluon's advice for online inference), so
    single-row latency does not count loading models from disk."""
    from autogluon.tabular import TabularPredictor

    train = X.assign(**{LABEL: y})
    problem = "regression" if task == "regression" else None  # classes: AutoGluon tells binary from multiclass
    predictor = TabularPredictor(label=LABEL, problem_type=problem, path=str(workdir / "autogluon"), verbosity=0)
    start = time.perf_counter()
    predictor.fit(train, time_limit=budget)
    wall = time.perf_counter() - start
    predictor.persist()
    best = str(predictor.model_best)
    return {AUTOGLUON_ROW: measure(predictor.predict, Xt, yt, task, wall) | {"model": best}}


# ---- the engine's own throughput: trials per second with 1 and 2 workers ----------------------
def run_trials_per_second(X: pd.DataFrame, y: np.ndarray, task: str, budget: float, workers: int,
                          workdir: Path) -> dict[str, Any]:
    """``SinglePointTechnique(workers=w, budget=B).search(train, label=...)``: trials finished per wall second."""
    from lepton_ai import SinglePointTechnique

    train = X.assign(**{LABEL: y})
    engine = SinglePointTechnique(workers=workers, budget=f"{budget:g}s", home=workdir / "lepton-home")
    start = time.perf_counter()
    result = engine.search(train, label=LABEL, task=task)
    wall = time.perf_counter() - start
    trials = result.trials
    return {"workers": engine.workers, "cores": engine.cores, "trials": len(trials),
            "ok_trials": sum(t.ok for t in trials), "wall_s": wall, "trials_per_s": len(trials) / wall,
            "statuses": dict(Counter(str(t.status) for t in trials)),
            "best_dev_metric": max((t.dev_metric for t in trials if t.ok and t.dev_metric is not None),
                                   default=None)}


SYSTEMS: dict[str, System] = {s.key: s for s in (
    System("lepton", (LEPTON_DEFAULT, LEPTON_ACCURACY, LEPTON_SPEED), True, ("lepton_ai",), "pip install -e .",
           run_lepton),
    System("linear", ("logistic/ridge",), False, ("sklearn",), "pip install scikit-learn", run_linear),
    System("lightgbm", ("LightGBM defaults",), False, ("lightgbm",), "pip install lightgbm", run_lightgbm),
    System("flaml", (FLAML_ROW,), True, ("flaml", "lightgbm"), "pip install -e '.[bench]'", run_flaml),
    System("autogluon", (AUTOGLUON_ROW,), True, ("autogluon.tabular",), "pip install -e '.[bench]'",
           run_autogluon),
)}
# Only with --separate-speed-fit: the speed objective in its own process and search.
LEPTON_SPEED_SEPARATE = System("lepton-speed", (LEPTON_SPEED,), True, ("lepton_ai",), "pip install -e .",
                               run_lepton_speed)
