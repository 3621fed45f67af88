"""The engine's priority queue: which trial runs next, by expected gain per estimated cost.

Three kinds of trial compete for a free worker:

* **starting points** — each family's cheap, good defaults at full fidelity (expected gain 1.0 for
  a family's first, 0.5 for later ones: the first model of a family teaches the most; those of
  a family the data's modality favours, a CNN on images, go before all others, in their order);
* **promotions** — ASHA moving a configuration to the next row fidelity (gain 0.8: it already ranked
  in the top third of its rung);
* **samples** — new configurations from the TPE sampler at the lowest fidelity (gain 0.3), asked only
  when nothing else is queued.

Priority is gain divided by the family's cost estimate (seconds) for that fidelity, so cheap
informative trials go first. Ties keep the order of arrival. An estimate is the family's prior
(``ModelFamily.estimate_cost``, times the class count for families that grow a model per class,
times the folds of a cross-validated search), calibrated by what this run measured: once a
family's trials have finished, its later estimates are scaled by the median ratio of their
measured to their prior fit seconds (``CALIBRATION_LIMITS`` bound it).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from dataclasses import dataclass
from typing import Any

from ..models.registry import get_family
from ..search.asha import Rungs, rung_fractions
from ..search.plan import plan_candidates
from ..search.sampler import ConfigSampler

__all__ = ["PlannedTrial", "Scheduler"]

# A favoured family's starting points (ModelFamily.favoured) go before everything, whatever they cost,
# in their order: each one's gain is a hundredth of the one before, far more than any cost ratio.
_FAVOURED_GAIN, _FAVOURED_STEP = 1e12, 1e-2
CALIBRATION_LIMITS = (0.1, 20.0)
_GAIN = {"favoured": _FAVOURED_GAIN, "first": 1.0, "start": 0.5, "promoted": 0.8, "sampled": 0.3, "balanced": 0.7}


@dataclass
class PlannedTrial:
    """A trial waiting for a worker."""

    family: str
    params: dict[str, Any]
    rung: int
    fraction: float
    origin: str
    config_id: str
    estimated_fit_s: float
    sampler_number: int | None = None
    forced: bool = False  # run past a budget too small for any trial (engine.loop)
    prior_fit_s: float | None = None  # the estimate before this run's calibration (None: not calibrated)
    class_weight: str | None = None  # "balanced": the fit weighs every class the same (Prepared.balanced)


class Scheduler:
    """Hands out trials by priority and learns from their results (ASHA promotions, TPE)."""

    def __init__(self, families: list[str], n_rows: int, n_features: int, *, seed: int, epochs: int | None,
                 sample: bool = True, cost_factor: float = 1.0, rungs: bool = True, modality: str | None = None,
                 n_classes: int = 0, balance: bool = False) -> None:
        """``n_rows``: the rows one fit trains on; ``cost_factor``: fits per trial (the folds of a
        cross-validated search, whose trials all run at full fidelity: ``rungs=False``);
        ``modality``: the data's (its favoured families go first); ``n_classes``: 0 for regression;
        ``balance``: the classes are imbalanced, so each family's first starting point is also
        tried with ``class_weight="balanced"`` (after the first points of every family)."""
        self.n_rows, self.n_features, self.epochs = n_rows, n_features, epochs
        self.cost_factor = float(cost_factor)
        self.n_classes = n_classes
        self._ratios: dict[str, list[float]] = {}  # family -> measured / prior fit seconds
        self.rungs = Rungs(rung_fractions(n_rows) if rungs else [1.0])
        self.sampler = ConfigSampler(families, n_rows, n_features, seed) if sample else None
        self._heap: list[tuple[float, int, PlannedTrial]] = []
        self._order = itertools.count()
        self._configs: dict[str, PlannedTrial] = {}
        seen_family: set[str] = set()
        balanced: set[str] = set()
        favoured_rank = 0
        for i, candidate in enumerate(plan_candidates(families, n_rows, n_features, epochs, modality)):
            origin = "favoured" if candidate.favoured else "first" if candidate.family not in seen_family else "start"
            seen_family.add(candidate.family)
            planned = PlannedTrial(candidate.family, candidate.params, self.rungs.top, 1.0, origin, f"s{i}",
                                   self._factor(candidate.family) * candidate.estimated_fit_s)
            if candidate.favoured:
                self._push(planned, gain=_FAVOURED_GAIN * _FAVOURED_STEP ** favoured_rank)
                favoured_rank += 1
            else:
                self._push(planned)
            if balance and origin in ("first", "favoured") and candidate.family not in balanced:
                balanced.add(candidate.family)
                self._push(dataclasses.replace(planned, origin="balanced", config_id=f"s{i}b", class_weight="balanced"))

    @property
    def n_queued(self) -> int:
        """Planned trials (starting points, promotions) not started yet; samples are drawn on demand."""
        return len(self._heap)

    def favoured_families(self) -> list[str]:
        """The families of the favoured trials still queued (they run before all others)."""
        return sorted({entry[2].family for entry in self._heap if entry[2].origin == "favoured"})

    def next(self) -> PlannedTrial | None:
        """The highest-priority trial, or a new sample when the queue is empty (None without a sampler)."""
        if not self._heap and self.sampler is not None:
            self._push(self._sample())
        if not self._heap:
            return None
        planned = heapq.heappop(self._heap)[2]
        ratios = self._ratios.get(planned.family)
        if ratios:
            prior = planned.prior_fit_s if planned.prior_fit_s is not None else planned.estimated_fit_s
            low, high = CALIBRATION_LIMITS
            scale = min(max(float(sorted(ratios)[len(ratios) // 2]), low), high)
            planned = dataclasses.replace(planned, estimated_fit_s=prior * scale, prior_fit_s=prior)
        return planned

    def tell(self, planned: PlannedTrial, metric: float | None, fit_s: float | None = None) -> None:
        """Learn a finished trial's dev metric (None when it failed) and, when it finished, its
        measured fit seconds (they calibrate the family's later estimates)."""
        prior = planned.prior_fit_s if planned.prior_fit_s is not None else planned.estimated_fit_s
        if metric is not None and fit_s is not None and prior > 0:
            self._ratios.setdefault(planned.family, []).append(fit_s / prior)
        if planned.sampler_number is not None and self.sampler is not None and planned.rung == self.rungs.top:
            self.sampler.tell(planned.sampler_number, metric)
        for config_id in self.rungs.record(planned.rung, planned.config_id, metric):
            base = self._configs[config_id]   # its first record (rung 0): family, params, sampler number
            rung = planned.rung + 1              # due configurations move up from the rung just recorded
            promoted = PlannedTrial(base.family, base.params, rung, self.rungs.fractions[rung], "promoted",
                                    config_id, self._estimate(base.family, base.params, self.rungs.fractions[rung]),
                                    base.sampler_number, class_weight=base.class_weight)
            self._push(promoted)
        low_rung = planned.sampler_number is not None and self.sampler is not None and planned.rung < self.rungs.top
        if low_rung and (metric is None or planned.config_id not in self._promoted_ids()):
            # Not promoted now; TPE learns the low-fidelity result so it can steer away.
            assert self.sampler is not None and planned.sampler_number is not None
            self.sampler.tell(planned.sampler_number, metric)

    def restore(self, planned: PlannedTrial, metric: float | None) -> None:
        """Replay a trial finished before a resume: rung results, sampler knowledge, no re-queueing."""
        self._configs.setdefault(planned.config_id, planned)
        self._heap = [entry for entry in self._heap if not (entry[2].config_id == planned.config_id
                                                             and entry[2].rung <= planned.rung)]
        heapq.heapify(self._heap)
        if metric is not None:
            self.rungs.results.setdefault(planned.rung, {})[planned.config_id] = metric
        if planned.origin == "promoted":  # it moved up before the resume: not due again
            self.rungs.promoted.setdefault(planned.rung - 1, set()).add(planned.config_id)
        if self.sampler is not None and planned.origin == "sampled":
            self.sampler.add_finished(planned.family, planned.params, metric)

    def _promoted_ids(self) -> set[str]:
        return set().union(*self.rungs.promoted.values()) if self.rungs.promoted else set()

    def _sample(self) -> PlannedTrial:
        assert self.sampler is not None
        number, family, sampled = self.sampler.ask()
        cls = get_family(family)
        base = dict(cls.starting_points(self.n_rows, self.n_features)[0])
        if cls.neural and self.epochs is not None:
            base["epochs"] = min(int(base.get("epochs", cls().get_params()["epochs"])), self.epochs)
        params = {**base, **sampled}
        fraction = self.rungs.fractions[0]
        return PlannedTrial(family, params, 0, fraction, "sampled", f"o{number}",
                            self._estimate(family, params, fraction), number)

    def _estimate(self, family: str, params: dict[str, Any], fraction: float) -> float:
        rows = max(1, int(self.n_rows * fraction))
        return self._factor(family) * get_family(family)(**params).estimate_cost(rows, self.n_features).fit_seconds

    def _factor(self, family: str) -> float:
        """What multiplies a family's prior estimate of one fit: folds, and classes where it grows a model per class."""
        per_class = self.n_classes if self.n_classes > 2 and get_family(family).cost_per_class else 1
        return self.cost_factor * per_class

    def _push(self, planned: PlannedTrial, gain: float | None = None) -> None:
        self._configs.setdefault(planned.config_id, planned)
        priority = (_GAIN[planned.origin] if gain is None else gain) / max(planned.estimated_fit_s, 1e-3)
        heapq.heappush(self._heap, (-priority, next(self._order), planned))
