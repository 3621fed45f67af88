"""The order in which a search tries candidates: every family's cheap starting points, cheapest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models.base import ModelFamily
from ..models.registry import get_family

__all__ = ["Candidate", "plan_candidates"]


@dataclass(frozen=True)
class Candidate:
    """A family and its parameters, with the prior cost estimate that ordered it."""

    family: str
    params: dict[str, Any]
    estimated_fit_s: float
    favoured: bool = False  # a starting point of a family the data's modality favours (ModelFamily.favoured)

    def build(self) -> ModelFamily:
        return get_family(self.family)(**self.params)


def plan_candidates(families: list[str], n_rows: int, n_features: int, epochs: int | None = None,
                    modality: str | None = None) -> list[Candidate]:
    """All starting points of ``families``, ordered so that each family's first point comes early.

    The starting points of each family that ``modality`` favours (``ModelFamily.favoured``: a CNN
    on images, TF-IDF on text) come first, in their order, whatever they cost: on such data the
    cheap families rarely come close, and queued behind them they would never run within a small
    budget. Then round-robin over the other families
    (first point of each, then the second of each, ...), each round cheapest first: a tight budget
    still sees one candidate of every family.
    """
    rounds: list[list[Candidate]] = []
    for name in families:
        cls = get_family(name)
        for i, params in enumerate(cls.starting_points(n_rows, n_features)):
            if epochs is not None and cls.neural:
                params = {**params, "epochs": min(int(params.get("epochs", cls().get_params()["epochs"])), epochs)}
            estimate = cls(**params).estimate_cost(n_rows, n_features).fit_seconds
            while len(rounds) <= i:
                rounds.append([])
            rounds[i].append(Candidate(name, params, estimate, favoured=modality in cls.favoured))
    favoured = [c for r in rounds for c in r if c.favoured]
    ordered = [c for r in rounds for c in sorted(r, key=lambda c: c.estimated_fit_s) if not c.favoured]
    return favoured + ordered
