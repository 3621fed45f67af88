"""Refit: the models a user may choose are trained once more on train + dev before the run ends.

The search ranks candidates on the dev rows, so every trial trains on the rest. Once the search
is over, the candidates on the selection frontier (and the best-metric one) are trained again on
train + dev with the length the trial found (trees, epochs), as FLAML's ``retrain_full`` and
AutoGluon's refit do: the same model, a fifth more data. A refit keeps the dev metric of the trial
it repeats (it has seen dev, so dev can no longer score it) and replaces that trial's model, timings
and size; its seconds and dollars are added to the trial's training cost. A refit that fails, does
not fit in the budget, or is cut before ``MIN_LENGTH_SHARE`` of its length leaves the trial as it
was; one cut after that is kept, and ``extra["refit_reached"]`` says how far it got.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..models.base import FitReport
from ..models.registry import get_family
from ..search.frontier import pareto_front
from ..search.trial import TrialResult

__all__ = ["refit_candidates", "refit_estimate_s", "refit_params", "apply_refit", "REFIT_SUFFIX", "MIN_LENGTH_SHARE"]

REFIT_SUFFIX = "-refit"
# A refit its deadline cut after this share of the length the trial found still replaces the trial's
# model: trained on every row (a fifth more, or under folds a half more, than the trial's), with its
# schedule fitted to the deadline (neural) or most of its trees, it is the better model.
MIN_LENGTH_SHARE = 2 / 3
# The refit of a candidate is estimated at its measured fit time, scaled by the rows it gains, times this.
_SAFETY = 1.15


def refit_candidates(trials: Sequence[TrialResult], limit: int) -> list[TrialResult]:
    """Full-fidelity trials a user may pick (the selection frontier and the best metric), best first.

    Trials trained on a subsample (a low ASHA rung) are left out: their length was found on fewer rows.
    An ensemble stands for its members.
    """
    full = [t for t in trials if t.ok and t.rung_fraction >= 1.0 and not t.refitted]
    if not full:
        return []
    by_id = {t.trial_id: t for t in full}
    picked = [*pareto_front(full, training_cost=False), max(full, key=lambda t: (t.dev_metric or 0.0, -t.index))]
    chosen: dict[str, TrialResult] = {}
    for trial in sorted(picked, key=lambda t: (-(t.dev_metric or 0.0), t.index)):
        if trial.family == "ensemble":  # an ensemble is as good as its members: refit those
            for member in trial.params["members"]:
                if member in by_id:
                    chosen.setdefault(member, by_id[member])
        else:
            chosen.setdefault(trial.trial_id, trial)
    return list(chosen.values())[:limit]


def refit_estimate_s(trial: TrialResult, growth: float, safety: float = _SAFETY) -> float:
    """Seconds a refit of ``trial`` should take when the training rows grow by ``growth``."""
    return safety * growth * float(trial.fit_s or trial.estimated_fit_s or 1.0)


def refit_params(trial: TrialResult) -> dict[str, Any]:
    """The trial's parameters with the length it found fixed (its family decides how, from its fit report)."""
    report = FitReport(length=trial.fit_length, converged=trial.converged, history=tuple(trial.history))
    return get_family(trial.family).refit_params(dict(trial.params), report)


def apply_refit(trial: TrialResult, refit: TrialResult, trials_dir: Path) -> bool:
    """Put the model of the ``refit`` record in place of ``trial``'s; return whether it was applied.

    The refit's model directory replaces the trial's (its model is what loading the trial now
    gives); its timings and size replace the trial's; its training cost is added.
    """
    if refit.status != "ok" or refit.latency_p50_ms is None:
        trial.refit_error = refit.error or "the refit did not finish"
        return False
    target = trials_dir / trial.trial_id
    fresh = trials_dir / f"{trial.trial_id}{REFIT_SUFFIX}"
    old = trials_dir / f".{trial.trial_id}.replaced"
    if not fresh.is_dir():
        trial.refit_error = f"the refit left no model in {fresh}"
        return False
    reached, asked = _length(refit)
    if reached is not None and asked is not None and reached < MIN_LENGTH_SHARE * asked:
        # Cut well short by its deadline: far fewer trees or epochs than the trial found best; keep the trial's.
        trial.refit_error = f"the refit stopped at {reached} of {asked} at the end of the budget"
        shutil.rmtree(fresh, ignore_errors=True)
        return False
    if reached is not None and asked is not None and reached < asked:
        trial.extra["refit_reached"] = f"{reached} of {asked}"
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(fresh, target)
    shutil.rmtree(old, ignore_errors=True)
    for key in ("latency_p50_ms", "latency_p99_ms", "rows_per_s", "infer_cost_per_million_usd", "size_bytes",
                "record_p50_ms", "model_p50_ms", "model_p99_ms"):
        if getattr(refit, key) is not None:
            setattr(trial, key, getattr(refit, key))
    trial.train_cost_usd = (trial.train_cost_usd or 0.0) + float(refit.train_cost_usd or 0.0)
    trial.peak_memory_bytes = max(trial.peak_memory_bytes or 0, int(refit.peak_memory_bytes or 0)) or None
    trial.refit_fit_s, trial.refit_params = refit.fit_s, dict(refit.params)
    return True


def _length(refit: TrialResult) -> tuple[int | None, int | None]:
    """The length the refit reached and the one it asked for, in its family's ``length_param``."""
    name = get_family(refit.family).length_param
    if name is None or refit.fit_length is None or refit.params.get(name) is None:
        return None, None
    return int(refit.fit_length), int(refit.params[name])
