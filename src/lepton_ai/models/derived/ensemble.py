"""A weighted average of finished candidates: probabilities (classification) or values (regression).

An ensemble is made by the engine from trials that already ran (``engine.ensemble``), not searched:
its members are other trials of the same run, each with its own prepared view, so the model that
holds the members (``SearchResult``) combines their outputs with :meth:`EnsembleFamily.combine`.
Saved, it is a ``family.json`` naming the members and their weights; the members are saved beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError, NotBuiltError
from ..base import DerivedFamily

__all__ = ["EnsembleFamily"]


class EnsembleFamily(DerivedFamily):
    """``members`` (trial ids) averaged with ``weights`` (non-negative, summing to 1)."""

    name = "ensemble"
    made_by = "the engine from finished trials (engine.ensemble)"
    view = "dense"  # not used: every member reads its own view

    def __init__(self, *, members: Sequence[str] = (), weights: Sequence[float] = ()) -> None:
        self.members = members
        self.weights = weights

    def combine(self, outputs: Sequence[np.ndarray]) -> np.ndarray:
        """The weighted average of the members' outputs, given in the order of ``members``."""
        self._check_fitted()
        if len(outputs) != len(self.members):
            raise ConfigError(f"the ensemble has {len(self.members)} members; got {len(outputs)} outputs.")
        total = sum(w * np.asarray(o, dtype=np.float64) for w, o in zip(self.weights, outputs, strict=True))
        return np.asarray(total)

    def _raw_predict(self, X: np.ndarray) -> np.ndarray:
        raise NotBuiltError("an ensemble predicts through the search result that holds its members "
                            "(LeptonModel.predict); combine the members' outputs with combine().")

    def _save_weights(self, directory: Path) -> list[Path]:
        return []

    def _load_weights(self, directory: Path, state: dict[str, Any]) -> None:
        self.members, self.weights = list(self.members), [float(w) for w in self.weights]
