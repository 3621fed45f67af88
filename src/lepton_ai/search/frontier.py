"""The Pareto frontier of trials and the objectives that pick a model from it.

A trial is on the frontier when no other trial is at least as good on all of dev metric (higher),
inference cost and training cost (lower) and strictly better on one. Objectives:

* ``accuracy`` — the best dev metric; metrics within ``noise`` of the best tie, and ties go to the lower
  dev loss (log-loss or squared error) when the tied trials have one, then to the lower latency.
  Dev losses within ``LOSS_TOLERANCE`` (5%) of each other are equal, here and on the frontier.
* ``speed`` — the lowest single-row latency within ``tolerance`` (1 point) of the best metric.
* ``cost`` — the lowest inference cost per million rows within ``tolerance`` of the best metric.
  For both, the tolerance widens to the dev set's ``noise`` when that is larger.
* ``balanced`` — the frontier point that minimises ``log(error) + 0.05 * log(cost)``, where error
  is ``1 - metric`` (the error rate, or the unexplained share of variance for R²) and cost the
  inference cost per million rows: a model ten times cheaper to run may make 12% more errors, one
  a hundred times cheaper 26% more. Both are ratios, so the choice between two good models does
  not depend on a poor one being on the frontier too. Metric gaps within the dev set's noise
  (``noise``: one standard error of the best metric, at least one dev row's worth; see
  :func:`metric_noise`) count as ties, so a dev set of 90 rows does not pick a 100x slower model
  for being one row better.

Selection leaves training cost out (it is spent once a model is trained); the frontier shown to the
user keeps all three axes. Hard limits (``max_latency_ms``, ``max_model_mb``, ``min_metric``)
filter the trials first; when none is left, the error lists the closest candidates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ..errors import ConfigError
from .trial import TrialResult

__all__ = ["OBJECTIVES", "pareto_front", "select_trial", "check_objective", "metric_noise"]

OBJECTIVES = ("balanced", "accuracy", "speed", "cost")
DEFAULT_TOLERANCE = 0.01
# balanced: how much a factor of cost is worth in a factor of error (log(error) + w * log(cost)).
BALANCED_COST_WEIGHT = 0.05
_MIN_ERROR = 1e-4  # a perfect dev metric still has an error this size, so logs stay finite
# Measured costs within this factor of each other (2x) count as equal: single-row timings of the same
# model vary by up to 2x between runs on a busy machine.
COST_TOLERANCE = 1.0
# Fits that differ by less than this many core-seconds cost the same (start-up and timer noise).
TRAIN_NOISE_CORE_S = 0.25
# Dev losses within this share of each other are equal: a 1% lower log-loss on a few hundred rows is
# chance, and must not make a 4x slower model "dominate" an equally accurate one.
LOSS_TOLERANCE = 0.05


def check_objective(objective: str) -> str:
    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective {objective!r}. Valid objectives: {', '.join(OBJECTIVES)}.")
    return objective


def pareto_front(trials: Sequence[TrialResult], *, training_cost: bool = True) -> list[TrialResult]:
    """The successful trials no other successful trial dominates, best metric first.

    ``training_cost=False`` leaves training cost out: what matters when choosing a model that is
    already trained. Measured costs carry timing noise, so one cost beats another only when it is lower by more than
    ``COST_TOLERANCE`` (a factor of 2), and a training cost only when it also saves ``TRAIN_NOISE_CORE_S``
    core-seconds; closer costs tie. Two runs of the same models then agree on the
    frontier even though their timings differ a little.
    """
    ok = [t for t in trials if t.ok]
    front = [t for t in ok if not any(_dominates(o, t, training_cost) for o in ok if o is not t)]
    if ok and not front:  # tolerance comparisons are not transitive; a cycle must not empty the front
        front = [min(ok, key=_tie_order)]
    return sorted(front, key=_tie_order)


def select_trial(
    trials: Sequence[TrialResult],
    objective: str = "balanced",
    *,
    max_latency_ms: float | None = None,
    max_model_mb: float | None = None,
    min_metric: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    noise: float = 0.0,
) -> TrialResult:
    """Pick one trial by ``objective`` among those meeting the hard limits.

    Ties (metrics equal, costs within ``COST_TOLERANCE``) go to the higher metric, then the smaller
    model, then the earlier trial, so the choice does not depend on timing noise.
    """
    check_objective(objective)
    ok = [t for t in trials if t.ok]
    if not ok:
        raise ConfigError("no trial finished successfully, so there is no model to select.")
    feasible = [t for t in ok if _meets(t, max_latency_ms, max_model_mb, min_metric)]
    if not feasible:
        raise ConfigError(_infeasible_message(ok, max_latency_ms, max_model_mb, min_metric))
    # Training is spent by now: the choice weighs metric against the cost of running the model.
    front = pareto_front(feasible, training_cost=False)
    best = max(_metric(t) for t in front)
    if objective == "accuracy":
        # Metrics within the dev set's noise of the best are ties; among them, the lower dev loss
        # (a smoother measure of the same fit, when every tied trial has one) is the better model.
        near_best = [t for t in feasible if _metric(t) >= best - noise]
        if noise > 0 and all(_loss(t) is not None for t in near_best):
            top = near_best
        else:
            top = [t for t in front if _metric(t) == best]
        if all(_loss(t) is not None for t in top):
            lowest = min(_loss(t) for t in top)  # type: ignore[type-var]
            top = [t for t in top if _loss(t) <= lowest * (1 + LOSS_TOLERANCE)]  # type: ignore[operator]
        return _cheapest(top, _latency)
    near = [t for t in feasible if _metric(t) >= best - max(tolerance, noise)]
    if objective == "speed":
        return _cheapest(near, _latency)
    if objective == "cost":
        return _cheapest(near, _infer_cost)
    return _balanced(front, noise)


def metric_noise(task: str, best_metric: float, n_dev: int, metric_name: str | None = None) -> float:
    """How much a dev metric moves by chance (``Metric.noise``): for accuracy and other scores in
    [0, 1], one standard error of ``best_metric`` on ``n_dev`` rows and at least one row's worth
    (``1/n_dev``); for R², 0.001. ``metric_name``: the metric that scored it (default: the task's)."""
    from ..models.metrics import METRICS, default_metric

    metric = METRICS.get(metric_name or "", default_metric(task))
    return metric.noise(best_metric, n_dev)


def _balanced(front: list[TrialResult], noise: float = 0.0) -> TrialResult:
    """The point of lowest ``log(error) + BALANCED_COST_WEIGHT * log(cost)`` (see the module docstring)."""
    best = max(_metric(t) for t in front)
    floor = max(noise, _MIN_ERROR)
    perfect = _perfect(front[0].metric_name, best)

    def error(t: TrialResult) -> float:
        metric = best if best - _metric(t) <= noise + 1e-12 else _metric(t)
        return max(perfect - metric, floor)

    costs = _snap_costs([max(_infer_cost(t), 1e-12) for t in front])
    scores = [math.log(error(t)) + BALANCED_COST_WEIGHT * math.log(c) for t, c in zip(front, costs, strict=True)]
    top = min(scores)
    return min((t for t, sc in zip(front, scores, strict=True) if sc <= top + 1e-9), key=_tie_order)


def _snap_costs(costs: list[float]) -> list[float]:
    """Round costs down to bands a factor ``1 + COST_TOLERANCE`` wide, starting from the cheapest,
    so costs that differ only by timing noise compare equal."""
    starts: list[float] = []
    for cost in sorted(costs):
        if not starts or cost > starts[-1] * (1 + COST_TOLERANCE):
            starts.append(cost)
    return [max(s for s in starts if s <= cost) for cost in costs]


def _cheapest(trials: list[TrialResult], cost: Callable[[TrialResult], float]) -> TrialResult:
    """The trial of lowest ``cost``, counting costs within the tolerance as equal."""
    lowest = min(cost(t) for t in trials)
    tied = [t for t in trials if cost(t) <= lowest * (1 + COST_TOLERANCE)]
    return min(tied, key=_tie_order)


def _tie_order(t: TrialResult) -> tuple[float, int, str]:
    return (-_metric(t), t.size_bytes or 0, t.trial_id)


def _dominates(a: TrialResult, b: TrialResult, training_cost: bool = True) -> bool:
    """``a`` is no worse than ``b`` anywhere and clearly better somewhere."""
    if _metric(a) < _metric(b):
        return False
    if _clearly_cheaper(b, a, training_cost):
        return False
    if _metric(a) > _metric(b):
        return True
    # Equal metric: the dev loss (log-loss or squared error), when both have one, tells the better fit.
    loss_a, loss_b = _loss(a), _loss(b)
    if loss_a is not None and loss_b is not None and not _same_loss(loss_a, loss_b):
        return loss_a < loss_b  # b is not clearly cheaper (checked above)
    if _clearly_cheaper(a, b, training_cost):
        return True
    # Equal metric and costs within the tolerance: the smaller model, then the earlier trial, stands.
    return (a.size_bytes or 0, a.trial_id) < (b.size_bytes or 0, b.trial_id)


def _same_loss(a: float, b: float) -> bool:
    return abs(a - b) <= LOSS_TOLERANCE * min(abs(a), abs(b))


def _clearly_cheaper(a: TrialResult, b: TrialResult, training_cost: bool = True) -> bool:
    """``a`` costs clearly less than ``b`` to run or to train (beyond timing noise)."""
    if _infer_cost(a) * (1 + COST_TOLERANCE) < _infer_cost(b):
        return True
    if not training_cost:
        return False
    fit_a, fit_b = _core_seconds(a), _core_seconds(b)
    return fit_a * (1 + COST_TOLERANCE) < fit_b and fit_b - fit_a > TRAIN_NOISE_CORE_S


def _core_seconds(t: TrialResult) -> float:
    return (t.fit_s or 0.0) * max(t.n_threads, 1)


def _meets(t: TrialResult, max_latency_ms: float | None, max_model_mb: float | None, min_metric: float | None) -> bool:
    if max_latency_ms is not None and _latency(t) > max_latency_ms:
        return False
    if max_model_mb is not None and (t.size_bytes or 0) > max_model_mb * 1e6:
        return False
    return min_metric is None or (t.dev_metric or 0.0) >= min_metric


def _infeasible_message(ok: list[TrialResult], max_latency_ms: float | None, max_model_mb: float | None,
                        min_metric: float | None) -> str:
    limits = ", ".join(
        f"{name}={value:g}" for name, value in
        (("max_latency_ms", max_latency_ms), ("max_model_mb", max_model_mb), ("min_metric", min_metric))
        if value is not None
    )

    def shortfall(t: TrialResult) -> float:
        gaps = []
        if max_latency_ms is not None:
            gaps.append(max(0.0, _latency(t) / max_latency_ms - 1))
        if max_model_mb is not None:
            gaps.append(max(0.0, (t.size_bytes or 0) / (max_model_mb * 1e6) - 1))
        if min_metric is not None:
            gaps.append(max(0.0, min_metric - (t.dev_metric or 0.0)))
        return sum(gaps)

    closest = sorted(ok, key=shortfall)[:3]
    shown = "; ".join(
        f"{t.trial_id} ({t.family}): {t.metric_name}={t.dev_metric:.4f}, p50={_latency(t):.3f} ms, "
        f"size={(t.size_bytes or 0) / 1e6:.2f} MB"
        for t in closest
    )
    return f"no candidate meets {limits}. Closest: {shown}."


def _perfect(metric_name: str, best: float) -> float:
    """The score of a perfect model by the metric that scored these trials (1 for accuracy or R², 0
    for a negated loss); for a metric of the user's, 1 when the scores look like fractions, else 0
    for negated losses and the best score itself otherwise."""
    from ..models.metrics import METRICS

    if metric_name in METRICS:
        return METRICS[metric_name].perfect
    return 1.0 if 0.0 <= best <= 1.0 else (0.0 if best < 0 else best)


def _metric(t: TrialResult) -> float:
    return t.dev_metric if t.dev_metric is not None else float("-inf")


def _loss(t: TrialResult) -> float | None:
    return None if t.dev_loss is None else float(t.dev_loss)


def _latency(t: TrialResult) -> float:
    return t.latency_p50_ms if t.latency_p50_ms is not None else float("inf")


def _infer_cost(t: TrialResult) -> float:
    if t.infer_cost_per_million_usd is not None:
        return t.infer_cost_per_million_usd
    return _latency(t)
