"""What preparation hands a model family: the prepared features of one split, in one view.

A view is how a family reads a table: ``dense`` (imputed, standardised, one-hot), ``codes``
(categories as integer codes, for trees; raw pixels and frames for images and sequences) or
``text`` (the raw strings of the text columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

__all__ = ["Prepared", "View", "VIEWS", "TEXT_VIEW", "row_weights", "joined_labels"]

View = Literal["dense", "codes", "text"]
# The array views every table is prepared in; tables with text columns also get TEXT_VIEW.
VIEWS: tuple[View, ...] = ("dense", "codes")
TEXT_VIEW: View = "text"


@dataclass
class Prepared:
    """Prepared features of one split for one family.

    ``X``: (n_rows, n_features) float32; in the "text" view, an object array (n_rows, n_text_columns)
    of strings. ``y``: class indices (int64) for classification or float64
    targets for regression; ``None`` when unlabelled. ``shape``: for images and sequences, the
    per-row shape the flat features come from (``X.reshape(n_rows, *shape)``); ``()`` for tables.
    ``weight``: one sample weight per row (float64), or ``None`` when every row counts once; a
    family's ``fit`` passes it to its learner, and every score of these rows is weighted by it.
    """

    X: np.ndarray
    y: np.ndarray | None
    task: Literal["classification", "regression"]
    n_classes: int = 0
    categorical: list[int] = field(default_factory=list)
    shape: tuple[int, ...] = ()
    weight: np.ndarray | None = None

    def take(self, rows: np.ndarray) -> Prepared:
        """The rows at positions ``rows`` (features copied into memory), with their labels and weights."""
        return replace(self, X=np.ascontiguousarray(self.X[rows]), y=None if self.y is None else self.y[rows],
                       weight=None if self.weight is None else self.weight[rows])

    def balanced(self) -> Prepared:
        """These rows with every class weighing the same in all (scikit-learn's ``class_weight="balanced"``:
        a row of class c weighs ``total / (n_classes_present * total_c)`` times its own weight)."""
        assert self.y is not None and self.task == "classification"
        classes = np.asarray(self.y, dtype=np.int64)
        weight = row_weights(self.weight, len(classes))
        per_class = np.bincount(classes, weights=weight, minlength=max(self.n_classes, 1))
        present = per_class > 0
        factor = np.where(present, weight.sum() / (present.sum() * np.where(present, per_class, 1.0)), 0.0)
        return replace(self, weight=weight * factor[classes])

    def joined(self, other: Prepared) -> Prepared:
        """These rows, then ``other``'s, as one split."""
        y, weight = joined_labels(self, other)
        return replace(self, X=np.concatenate([np.asarray(self.X), np.asarray(other.X)]), y=y, weight=weight)


def joined_labels(first: Prepared, second: Prepared) -> tuple[np.ndarray, np.ndarray | None]:
    """The labels and sample weights of ``first``'s rows then ``second``'s, without their features;
    the weights are ``None`` when neither split is weighted."""
    assert first.y is not None and second.y is not None
    y = np.concatenate([first.y, second.y])
    if first.weight is None and second.weight is None:
        return y, None
    return y, np.concatenate([row_weights(first.weight, len(first.y)), row_weights(second.weight, len(second.y))])


def row_weights(weight: np.ndarray | None, n_rows: int) -> np.ndarray:
    """``weight`` as float64, or ones for ``n_rows`` unweighted rows."""
    return np.ones(n_rows) if weight is None else np.asarray(weight, dtype=np.float64)
