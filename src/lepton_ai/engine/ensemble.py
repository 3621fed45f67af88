"""Ensemble selection: a weighted average of finished candidates, chosen greedily on dev.

After the search, the best full-fidelity candidates' dev outputs (saved by each worker) are
combined by greedy forward selection with replacement (Caruana et al., 2004, as AutoGluon's
weighted ensemble does): start from the best model, then repeatedly add whichever model most
improves the dev loss of the average (log-loss for classification, squared error for regression).
The ensemble joins the trials as one more candidate on the frontier. Its dev metric is measured on
the same dev rows that chose the weights, so it is a little optimistic; it is kept only when its
metric is within the dev set's noise of the best single candidate's (``Metric.noise``) and its dev
loss is lower than every member's by ``MIN_LOSS_GAIN``. Its timings are derived, not measured:
latency and size are the sums of its members' (they run one after another), rows/s the harmonic
combination, training cost the sum.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..models.metrics import Metric, default_metric, dev_loss, tune_threshold
from ..search.trial import TrialResult, trial_id_for

__all__ = ["build_ensemble", "DEV_OUTPUTS", "MAX_MEMBERS_CONSIDERED"]

DEV_OUTPUTS = "dev_outputs"    # run_dir/dev_outputs/<trial_id>.npy, written by the workers
MAX_MEMBERS_CONSIDERED = 8
PER_FAMILY = 2                 # the pool takes the best two of each family first
MIN_LOSS_GAIN = 0.02           # relative
_ROUNDS = 25


def build_ensemble(trials: Sequence[TrialResult], outputs_dir: Path, y_dev: np.ndarray, task: str,
                   index: int, metric: Metric | None = None, w_dev: np.ndarray | None = None) -> TrialResult | None:
    """The ensemble of ``trials`` as a new trial of launch index ``index``, or ``None`` when it does not
    beat the best one by ``metric`` (default: the task's; a metric given also tunes its threshold);
    ``w_dev``: the rows' sample weights, which every score and loss here is weighted by."""
    tuned = metric is not None
    metric = metric or default_metric(task)
    pool = [t for t in trials if t.ok and t.rung_fraction >= 1.0 and t.family != "ensemble"
            and (outputs_dir / f"{t.trial_id}.npy").is_file()]
    pool = _diverse(pool)
    if len(pool) < 2:
        return None
    outputs = [np.load(outputs_dir / f"{t.trial_id}.npy", allow_pickle=False) for t in pool]
    if any(o.shape[0] != len(y_dev) for o in outputs):
        return None
    losses = [dev_loss(task, y_dev, o, w_dev) for o in outputs]
    counts = _greedy(outputs, losses, y_dev, task, w_dev)
    if len(counts) < 2:
        return None
    members = [pool[i] for i in sorted(counts)]
    weights = [counts[i] / sum(counts.values()) for i in sorted(counts)]
    combined = sum(w * outputs[i] for w, i in zip(weights, sorted(counts), strict=True))
    try:
        score = metric.score(task, y_dev, np.asarray(combined), weight=w_dev)
    except ConfigError:  # a metric of the user's that cannot score the blend: no ensemble, the members stay
        return None
    loss = dev_loss(task, y_dev, np.asarray(combined), w_dev)
    best_single_loss = min(losses)
    best = max(t.dev_metric for t in pool if t.dev_metric is not None)
    if score < best - metric.noise(best, len(y_dev)) or loss > (1 - MIN_LOSS_GAIN) * best_single_loss:
        return None
    threshold = (tune_threshold(metric, y_dev, np.asarray(combined), w_dev) if task == "classification" and tuned
                 else None)
    return TrialResult(
        trial_id=trial_id_for(index), index=index, family="ensemble", threshold=threshold,
        params={"members": [t.trial_id for t in members], "weights": [round(w, 6) for w in weights]},
        metric_name=metric.name, dev_metric=score,
        fit_s=sum(t.fit_s or 0.0 for t in members),
        train_cost_usd=sum(t.train_cost_usd or 0.0 for t in members),
        latency_p50_ms=sum(t.latency_p50_ms or 0.0 for t in members),
        latency_p99_ms=sum(t.latency_p99_ms or 0.0 for t in members),
        rows_per_s=1.0 / sum(1.0 / (t.rows_per_s or np.inf) for t in members),
        record_p50_ms=_total(t.record_p50_ms for t in members),
        model_p50_ms=_total(t.model_p50_ms for t in members),
        model_p99_ms=_total(t.model_p99_ms for t in members),
        infer_cost_per_million_usd=sum(t.infer_cost_per_million_usd or 0.0 for t in members),
        size_bytes=sum(t.size_bytes or 0 for t in members),
        peak_memory_bytes=max(t.peak_memory_bytes or 0 for t in members) or None,
        n_threads=max(t.n_threads for t in members),
        origin="ensemble", rung_fraction=1.0, dev_loss=loss, extra={"timings": "derived from the members"},
    )


def _total(values: Iterable[float | None]) -> float | None:
    """The sum of the members' figures (each member prepares and predicts in turn); ``None`` when one
    has none."""
    figures = list(values)
    return None if any(v is None for v in figures) else sum(v for v in figures if v is not None)


def _diverse(pool: list[TrialResult]) -> list[TrialResult]:
    """The best ``PER_FAMILY`` trials of each family, then the best of the rest, ``MAX_MEMBERS_CONSIDERED`` in all.

    Many near-copies of one family (a long search samples dozens of linear models) would otherwise
    fill the pool and leave out the other families, whose errors differ most.
    """
    ranked = sorted(pool, key=lambda t: (-(t.dev_metric or 0.0), t.dev_loss or 0.0, t.index))
    per_family: dict[str, int] = {}
    first = []
    for trial in ranked:
        if per_family.get(trial.family, 0) < PER_FAMILY:
            per_family[trial.family] = per_family.get(trial.family, 0) + 1
            first.append(trial)
    rest = [t for t in ranked if t not in first]
    chosen = (first + rest)[:MAX_MEMBERS_CONSIDERED]
    return sorted(chosen, key=ranked.index)


def _greedy(outputs: list[np.ndarray], losses: list[float], y: np.ndarray, task: str,
            weight: np.ndarray | None) -> Counter[int]:
    """How many times each model is picked in ``_ROUNDS`` rounds of forward selection with replacement."""
    first = int(np.argmin(losses))
    counts: Counter[int] = Counter({first: 1})
    total = outputs[first].astype(np.float64)
    best_loss, best_counts = losses[first], Counter(counts)
    for n in range(2, _ROUNDS + 1):
        trial_losses = [dev_loss(task, y, (total + o) / n, weight) for o in outputs]
        pick = int(np.argmin(trial_losses))
        total = total + outputs[pick]
        counts[pick] += 1
        if trial_losses[pick] < best_loss - 1e-12:
            best_loss, best_counts = trial_losses[pick], Counter(counts)
    return best_counts
