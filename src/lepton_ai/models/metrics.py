"""Task metrics: the primary metric that ranks candidates, and the full evaluation report."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as skm

__all__ = ["primary_metric", "primary_metric_name", "dev_loss", "classification_report", "regression_report"]


def primary_metric_name(task: str) -> str:
    return "accuracy" if task == "classification" else "r2"


def primary_metric(task: str, y_true: np.ndarray, output: np.ndarray) -> float:
    """Accuracy from probabilities ``(n, k)`` for classification, R² from values for regression."""
    if task == "classification":
        return float(np.mean(output.argmax(axis=1) == y_true))
    return float(skm.r2_score(y_true, output))


def dev_loss(task: str, y_true: np.ndarray, output: np.ndarray) -> float:
    """A smooth measure of fit that breaks ties in the primary metric: log-loss from probabilities
    (classification), mean squared error (regression). Lower is better."""
    if task == "classification":
        picked = output[np.arange(len(y_true)), np.asarray(y_true, dtype=np.int64)]
        return float(-np.mean(np.log(np.clip(picked, 1e-15, 1.0))))
    return float(np.mean((np.asarray(output, dtype=np.float64) - y_true) ** 2))


def classification_report(y_true: np.ndarray, proba: np.ndarray, classes: list[Any]) -> dict[str, Any]:
    """Every classification metric: accuracy, balanced accuracy, macro P/R/F1, log-loss, ROC-AUC, confusion.

    ``y_true`` holds class indices into ``classes``; ``proba`` is ``(n, len(classes))``.
    """
    labels = list(range(len(classes)))
    pred = proba.argmax(axis=1)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, pred, labels=labels, zero_division=0
    )
    report: dict[str, Any] = {
        "task": "classification",
        "n_rows": int(len(y_true)),
        "accuracy": float(skm.accuracy_score(y_true, pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y_true, pred)),
        "precision_macro": float(np.mean(precision)),
        "recall_macro": float(np.mean(recall)),
        "f1_macro": float(np.mean(f1)),
        "log_loss": float(skm.log_loss(y_true, np.clip(proba, 1e-15, 1.0), labels=labels)),
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
        report["roc_auc"] = float(skm.roc_auc_score(y_true, proba[:, 1]))
    return report


def regression_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """R², RMSE and MAE."""
    return {
        "task": "regression",
        "n_rows": int(len(y_true)),
        "r2": float(skm.r2_score(y_true, y_pred)),
        "rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
    }
