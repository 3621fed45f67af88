"""What preparation hands a model family: the prepared features of one split, in one view.

A view is how a family reads a table: ``dense`` (imputed, standardised, one-hot), ``codes``
(categories as integer codes, for trees; raw pixels and frames for images and sequences) or
``text`` (the raw strings of the text columns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

__all__ = ["Prepared", "View", "VIEWS", "TEXT_VIEW"]

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
    """

    X: np.ndarray
    y: np.ndarray | None
    task: Literal["classification", "regression"]
    n_classes: int = 0
    categorical: list[int] = field(default_factory=list)
    shape: tuple[int, ...] = ()
