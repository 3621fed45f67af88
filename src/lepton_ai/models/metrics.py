"""Task metrics: the primary metric that ranks candidates, and the full evaluation report."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
from sklearn import metrics as skm

from ..errors import ConfigError

__all__ = ["primary_metric", "primary_metric_name", "dev_loss", "classification_report", "regression_report",
           "Metric", "METRICS", "make_metric", "resolve_metric", "default_metric", "tune_threshold",
           "predicted_labels"]


def primary_metric_name(task: str) -> str:
    return "accuracy" if task == "classification" else "r2"


def primary_metric(task: str, y_true: np.ndarray, output: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Accuracy from probabilities ``(n, k)`` for classification, R² from values for regression;
    ``weight``: one sample weight per row (``None``: every row counts once)."""
    if task == "classification":
        return float(np.average(output.argmax(axis=1) == y_true, weights=weight))
    return float(skm.r2_score(y_true, output, sample_weight=weight))


def dev_loss(task: str, y_true: np.ndarray, output: np.ndarray, weight: np.ndarray | None = None) -> float:
    """A smooth measure of fit that breaks ties in the primary metric: log-loss from probabilities
    (classification), mean squared error (regression), weighted by ``weight``. Lower is better."""
    if task == "classification":
        picked = output[np.arange(len(y_true)), np.asarray(y_true, dtype=np.int64)]
        return float(-np.average(np.log(np.clip(picked, 1e-15, 1.0)), weights=weight))
    return float(np.average((np.asarray(output, dtype=np.float64) - y_true) ** 2, weights=weight))


def classification_report(y_true: np.ndarray, proba: np.ndarray, classes: list[Any],
                          threshold: float | None = None, weight: np.ndarray | None = None) -> dict[str, Any]:
    """Every classification metric: accuracy, balanced accuracy, macro P/R/F1, log-loss, ROC-AUC, confusion.

    ``y_true`` holds class indices into ``classes``; ``proba`` is ``(n, len(classes))``; the labels
    scored are the model's predictions (``threshold``: see :func:`predicted_labels`). ``weight``
    weighs every figure but the confusion counts and supports, which count rows.
    """
    labels = list(range(len(classes)))
    pred = predicted_labels(proba, threshold)
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        y_true, pred, labels=labels, zero_division=0, sample_weight=weight
    )
    support = np.bincount(np.asarray(y_true, dtype=np.int64), minlength=len(classes))
    report: dict[str, Any] = {
        "task": "classification",
        "n_rows": int(len(y_true)),
        "accuracy": float(skm.accuracy_score(y_true, pred, sample_weight=weight)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y_true, pred, sample_weight=weight)),
        "precision_macro": float(np.mean(precision)),
        "recall_macro": float(np.mean(recall)),
        "f1_macro": float(np.mean(f1)),
        "log_loss": float(skm.log_loss(y_true, np.clip(proba, 1e-15, 1.0), labels=labels, sample_weight=weight)),
        "confusion_matrix": {
            "labels": list(classes),
            "matrix": skm.confusion_matrix(y_true, pred, labels=labels).tolist(),
        },
        "per_class": {
            str(c): {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
        },
    }
    if len(classes) == 2 and len(np.unique(y_true)) == 2:
        report["roc_auc"] = float(skm.roc_auc_score(y_true, proba[:, 1], sample_weight=weight))
    if weight is not None:
        report["weighted"] = True
    return report


def regression_report(y_true: np.ndarray, y_pred: np.ndarray, weight: np.ndarray | None = None) -> dict[str, Any]:
    """R², RMSE and MAE (weighted by ``weight`` when given)."""
    report: dict[str, Any] = {
        "task": "regression",
        "n_rows": int(len(y_true)),
        "r2": float(skm.r2_score(y_true, y_pred, sample_weight=weight)),
        "rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred, sample_weight=weight))),
        "mae": float(skm.mean_absolute_error(y_true, y_pred, sample_weight=weight)),
    }
    if weight is not None:
        report["weighted"] = True
    return report


# ---- the metric a search ranks by ----------------------------------------------------------------
Needs = Literal["labels", "proba", "values"]


@dataclass(frozen=True)
class Metric:
    """What ranks, ensembles and selects candidates: ``function(y_true, y)`` on dev rows, where ``y``
    is what ``needs`` says (predicted class indices, class probabilities ``(n, k)``, or values).

    Scores are higher-is-better: a metric with ``greater_is_better=False`` (a loss, an error) is
    negated, as scikit-learn's scorers and AutoGluon do, so ``dev rmse -3.2`` beats ``-4.0``.
    ``best`` is the score of a perfect model (1 for accuracy, 0 for a negated loss): the ``balanced``
    objective weighs the distance to it against cost. ``task`` is the task it applies to (``None``:
    either). Make one of your own with :func:`make_metric`.
    """

    name: str
    function: Callable[[np.ndarray, np.ndarray], float]
    needs: Needs = "labels"
    greater_is_better: bool = True
    task: str | None = None
    best: float | None = None
    custom: bool = False

    def score(self, task: str, y_true: np.ndarray, output: np.ndarray, threshold: float | None = None,
              weight: np.ndarray | None = None) -> float:
        """The higher-is-better score of ``output`` (a model's raw outputs: probabilities or values);
        ``threshold``: predicted labels are ``proba[:, 1] >= threshold`` (binary) instead of the argmax;
        ``weight``: the rows' sample weights, passed as ``sample_weight=`` (a function of your own
        that takes no ``sample_weight`` is scored unweighted: :attr:`takes_weight`)."""
        output = np.asarray(output, dtype=np.float64)
        given = predicted_labels(output, threshold) if task == "classification" and self.needs == "labels" else output
        if task == "regression" and given.ndim == 2 and given.shape[1] == 1:
            given = given[:, 0]
        extra = {"sample_weight": weight} if weight is not None and self.takes_weight else {}
        try:
            value = float(self.function(np.asarray(y_true), given, **extra))
        except Exception as exc:  # a user's metric that fails is named with its cause, never ranked silently
            raise ConfigError(f"metric {self.name!r} raised {type(exc).__name__}: {exc}") from exc
        if not math.isfinite(value):
            raise ConfigError(f"metric {self.name!r} returned {value} on {len(y_true)} dev rows; a metric must "
                              "return a finite number")
        return value if self.greater_is_better else -value

    @cached_property  # read on every score: the signature is looked at once per metric
    def takes_weight(self) -> bool:
        """Whether ``function`` takes ``sample_weight=`` (every named metric does)."""
        try:
            parameters = inspect.signature(self.function).parameters.values()
        except (TypeError, ValueError):  # a builtin without a signature
            return False
        return any(p.name == "sample_weight" or p.kind == p.VAR_KEYWORD for p in parameters)

    @property
    def perfect(self) -> float:
        """The score of a perfect model (``best``; by default 1 for scores and 0 for negated losses)."""
        if self.best is not None:
            return self.best if self.greater_is_better else -self.best
        return 1.0 if self.greater_is_better else 0.0

    def noise(self, score: float, n_rows: int) -> float:
        """How much a dev score moves by chance: one binomial standard error for a score in [0, 1]
        and at least one row's worth; a thousandth of the score's size otherwise."""
        if n_rows <= 0:
            return 0.001
        if self.perfect == 1.0 and 0.0 <= score <= 1.0 and self.name != "r2":
            return max(1.0 / n_rows, math.sqrt(score * (1 - score) / n_rows))
        return max(0.001 * abs(score), 1e-12) if self.name != "r2" else 0.001


def predicted_labels(proba: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Class indices from probabilities: the most probable class, or for two classes with a
    ``threshold``, the second wherever its probability reaches it."""
    if threshold is not None and proba.shape[1] == 2:
        return (proba[:, 1] >= threshold).astype(np.int64)
    return proba.argmax(axis=1)


def tune_threshold(metric: Metric, y_true: np.ndarray, proba: np.ndarray,
                   weight: np.ndarray | None = None) -> float | None:
    """The decision threshold on the positive class's probability that scores best by ``metric`` on
    these rows (a binary task, a metric of predicted labels), among the probabilities' percentiles;
    ``None`` when none beats the most probable class by more than the metric's noise on these rows."""
    proba = np.asarray(proba, dtype=np.float64)
    if metric.needs != "labels" or proba.ndim != 2 or proba.shape[1] != 2 or len(y_true) < 20:
        return None
    argmax = metric.score("classification", y_true, proba, weight=weight)
    best, chosen = argmax, None
    for threshold in np.unique(np.quantile(proba[:, 1], np.linspace(0.01, 0.99, 99))):
        if not 0.0 < threshold < 1.0:
            continue
        score = metric.score("classification", y_true, proba, float(threshold), weight=weight)
        if score > best:
            best, chosen = score, float(threshold)
    return chosen if chosen is not None and best > argmax + metric.noise(argmax, len(y_true)) else None


def make_metric(function: Callable[[np.ndarray, np.ndarray], float], *, greater_is_better: bool,
                needs: Needs = "labels", name: str | None = None, best: float | None = None) -> Metric:
    """A metric of your own: ``function(y_true, y)`` with ``y`` predicted labels (class indices),
    class probabilities ``(n, k)`` (``needs="proba"``) or values (regression, ``needs="values"``);
    ``greater_is_better`` says its direction (required: a loss ranked as a score would pick the worst
    model). ``y_true`` holds class indices (0..k-1 in the order of ``classes_``) or values. On
    weighted data a function with a ``sample_weight`` parameter is given the rows' weights."""
    if not callable(function):
        raise ConfigError(f"make_metric needs a callable (y_true, y) -> float. Got {function!r}.")
    if needs not in ("labels", "proba", "values"):
        raise ConfigError(f"needs must be 'labels', 'proba' or 'values'. Got {needs!r}.")
    return Metric(name=str(name or getattr(function, "__name__", "custom")), function=function, needs=needs,
                  greater_is_better=bool(greater_is_better), best=best, custom=True,
                  task="regression" if needs == "values" else "classification")


def _binary_or(binary: Callable[..., float], multi: Callable[..., float]) -> Callable[..., float]:
    def score(y_true: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        k = y.shape[1] if y.ndim == 2 else int(max(np.max(y_true), np.max(y)) + 1)
        return binary(y_true, y, sample_weight) if k <= 2 else multi(y_true, y, sample_weight)

    return score


def _auc(y_true: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    if proba.shape[1] == 2:
        return float(skm.roc_auc_score(y_true, proba[:, 1], sample_weight=sample_weight))
    return float(skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=list(range(proba.shape[1])),
                                   sample_weight=sample_weight))


def _log_loss(y_true: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    return float(skm.log_loss(y_true, np.clip(proba, 1e-15, 1.0), labels=list(range(proba.shape[1])),
                              sample_weight=sample_weight))


def _average(function: Callable[..., float], average: str) -> Callable[..., float]:
    def score(y_true: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        return float(function(y_true, y, average=average, zero_division=0, sample_weight=sample_weight))

    return score


def _weighted(function: Callable[..., Any], transform: Callable[[float], float] = float) -> Callable[..., float]:
    """``function(y_true, y, sample_weight=...)`` as a float (``transform``: of its value)."""
    def score(y_true: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        return transform(float(function(y_true, y, sample_weight=sample_weight)))

    return score


# The positive class of a binary task is the second of its two classes (sorted: 1 of {0, 1}, "yes" of
# {"no", "yes"}); on more classes f1, precision and recall are macro averages.
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("accuracy", _weighted(skm.accuracy_score), task="classification"),
    Metric("balanced_accuracy", _weighted(skm.balanced_accuracy_score), task="classification"),
    Metric("f1", _binary_or(_average(skm.f1_score, "binary"), _average(skm.f1_score, "macro")),
           task="classification"),
    Metric("f1_macro", _average(skm.f1_score, "macro"), task="classification"),
    Metric("f1_weighted", _average(skm.f1_score, "weighted"), task="classification"),
    Metric("precision", _binary_or(_average(skm.precision_score, "binary"), _average(skm.precision_score, "macro")),
           task="classification"),
    Metric("recall", _binary_or(_average(skm.recall_score, "binary"), _average(skm.recall_score, "macro")),
           task="classification"),
    Metric("mcc", _weighted(skm.matthews_corrcoef), task="classification"),
    Metric("roc_auc", _auc, needs="proba", task="classification"),
    Metric("log_loss", _log_loss, needs="proba", greater_is_better=False, task="classification"),
    Metric("r2", _weighted(skm.r2_score), needs="values", task="regression"),
    Metric("rmse", _weighted(skm.mean_squared_error, math.sqrt), needs="values",
           greater_is_better=False, task="regression"),
    Metric("mse", _weighted(skm.mean_squared_error), needs="values", greater_is_better=False,
           task="regression"),
    Metric("mae", _weighted(skm.mean_absolute_error), needs="values", greater_is_better=False,
           task="regression"),
    Metric("mape", _weighted(skm.mean_absolute_percentage_error), needs="values",
           greater_is_better=False, task="regression"),
    Metric("median_ae", _weighted(skm.median_absolute_error), needs="values",
           greater_is_better=False, task="regression"),
)}


def default_metric(task: str) -> Metric:
    """Accuracy for classification, R² for regression."""
    return METRICS[primary_metric_name(task)]


def resolve_metric(metric: str | Metric | None, task: str) -> Metric:
    """The Metric for ``metric`` (a name, a Metric, or ``None`` for the task's default) on ``task``;
    a ConfigError listing the valid names for the task otherwise."""
    if metric is None:
        return default_metric(task)
    valid = ", ".join(name for name, m in METRICS.items() if m.task == task)
    if isinstance(metric, Metric):
        found = metric
    elif isinstance(metric, str):
        if metric not in METRICS:
            raise ConfigError(f"unknown metric {metric!r}; for {task} use one of: {valid}, or a make_metric(...) of "
                              "your own.")
        found = METRICS[metric]
    elif callable(metric):
        raise ConfigError("a metric function needs its direction: pass make_metric(function, greater_is_better=...)"
                          ", not the bare function.")
    else:
        raise ConfigError(f"metric must be a name ({valid}) or a make_metric(...). Got {metric!r}.")
    if found.task is not None and found.task != task:
        raise ConfigError(f"metric {found.name!r} is for {found.task}, and this task is {task}; use one of: {valid}.")
    return found
