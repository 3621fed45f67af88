"""Asynchronous successive halving (ASHA) over training-row fidelities.

Rungs train on growing fractions of the rows (e.g. 1/9, 1/3, all). A configuration finished at a
rung is promoted to the next as soon as it ranks in the top ``1/eta`` of that rung's results, so
cheap low-fidelity trials weed out weak configurations and full-size training goes to the
promising ones. Small tables get a single rung: every trial trains on all rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Rungs", "rung_fractions", "MIN_RUNG_ROWS", "ETA"]

ETA = 3
MIN_RUNG_ROWS = 1500


def rung_fractions(n_rows: int, eta: int = ETA, max_rungs: int = 3) -> list[float]:
    """Row fractions of the rungs, smallest first; the lowest rung keeps at least MIN_RUNG_ROWS rows."""
    fractions = [1.0]
    while len(fractions) < max_rungs and n_rows * fractions[0] / eta >= MIN_RUNG_ROWS:
        fractions.insert(0, fractions[0] / eta)
    return fractions


@dataclass
class Rungs:
    """Results per rung and which configurations were already promoted."""

    fractions: list[float]
    eta: int = ETA
    results: dict[int, dict[str, float]] = field(default_factory=dict)   # rung -> config id -> metric
    promoted: dict[int, set[str]] = field(default_factory=dict)

    @property
    def top(self) -> int:
        return len(self.fractions) - 1

    def record(self, rung: int, config_id: str, metric: float | None) -> list[str]:
        """Record a result at ``rung``; return the config ids now due for promotion to ``rung + 1``."""
        if metric is not None:
            self.results.setdefault(rung, {})[config_id] = metric
        if rung >= self.top:
            return []
        done = self.results.get(rung, {})
        n_promote = len(done) // self.eta
        if n_promote == 0:
            return []
        ranked = sorted(done, key=lambda c: -done[c])[:n_promote]
        already = self.promoted.setdefault(rung, set())
        due = [c for c in ranked if c not in already]
        already.update(due)
        return due
