"""What the data looked like: rows, columns, their kinds and gaps, and the class balance or target range."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..data.dataset import Dataset

__all__ = ["summarize_dataset"]

_MAX_COLUMNS = 60   # wider tables list their first columns and count the rest
_MAX_CLASSES = 40


def summarize_dataset(data: Dataset) -> dict[str, Any]:
    """A JSON-able summary of ``data``: source, rows, feature columns (kind, dtype, missing, distinct
    values), dropped columns, the class balance (classification) or the target's range (regression), and
    why the task is what it is (``task_reason``)."""
    schema = data.schema
    summary: dict[str, Any] = {
        "source": data.source, "n_rows": len(data), "task": schema.task, "label": schema.label,
        "modality": schema.modality, "shape": list(schema.shape), "dropped": dict(schema.dropped),
        "n_columns": len(schema.columns), "columns": [], "n_columns_hidden": 0, "n_missing_cells": 0,
        "n_classes": None, "class_balance": None, "n_classes_hidden": 0, "target": None,
        "task_reason": data.cleaning.task_reason,
    }
    if isinstance(data.X, pd.DataFrame):
        frame = data.X
        missing = frame.isna().sum()
        summary["n_missing_cells"] = int(missing.sum())
        for column in schema.columns[:_MAX_COLUMNS]:
            values = frame[column.name] if column.name in frame.columns else pd.Series([], dtype=float)
            summary["columns"].append({
                "name": str(column.name), "kind": column.kind, "dtype": str(values.dtype),
                "n_missing": int(missing.get(column.name, 0)), "n_unique": int(values.nunique(dropna=True)),
            })
        summary["n_columns_hidden"] = max(0, len(schema.columns) - _MAX_COLUMNS)
    elif isinstance(data.X, np.ndarray) and data.X.dtype.kind == "f":
        summary["n_missing_cells"] = int(np.isnan(data.X).sum())
    if data.y is not None:
        summary.update(_target(np.asarray(data.y), schema.task))
    return summary


def _target(y: np.ndarray, task: str) -> dict[str, Any]:
    if task == "classification":
        counts = pd.Series(y).value_counts(dropna=True)
        total = int(counts.sum()) or 1
        balance = [{"label": str(label), "count": int(n), "share": float(n) / total}
                   for label, n in counts.iloc[:_MAX_CLASSES].items()]
        return {"n_classes": int(len(counts)), "class_balance": balance,
                "n_classes_hidden": max(0, len(counts) - _MAX_CLASSES)}
    values = pd.to_numeric(pd.Series(y), errors="coerce").dropna()
    if values.empty:
        return {"target": None}
    return {"target": {"min": float(values.min()), "mean": float(values.mean()), "median": float(values.median()),
                       "max": float(values.max()), "std": float(values.std(ddof=0))}}
