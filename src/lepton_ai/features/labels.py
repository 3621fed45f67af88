"""Encode class labels to indices and back, by the classes a schema recorded."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.dataset import Schema

__all__ = ["encode_labels", "decode_labels"]


def encode_labels(y: np.ndarray, schema: Schema) -> np.ndarray:
    """Class indices (int64) for classification, with -1 for a label outside the known classes or
    missing; float targets for regression (NaN where missing)."""
    if schema.task == "regression":
        return np.asarray(y, dtype=np.float64)
    index: dict[Any, int] = {c: i for i, c in enumerate(schema.classes)}
    by_text = {str(c): i for i, c in enumerate(schema.classes)}
    return np.fromiter(
        (index.get(v, by_text.get(str(v), -1)) if v is not None else -1 for v in np.asarray(y).tolist()),
        dtype=np.int64, count=len(y),
    )


def decode_labels(indices: np.ndarray, schema: Schema) -> np.ndarray:
    """Original class values for class indices."""
    classes = np.asarray(schema.classes, dtype=object if _mixed(schema.classes) else None)
    return classes[indices]


def _mixed(classes: tuple[Any, ...]) -> bool:
    return len({type(c) for c in classes}) > 1
