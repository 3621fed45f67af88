"""The scheduler on its own, over plan-only families: queue order, promotions and what TPE is told."""

from __future__ import annotations

import pytest

from lepton_ai.engine.scheduler import Scheduler
from lepton_ai.models.base import Domain

SPACE = {"cost": Domain("float", 0.5, 2.0)}


def _drain(scheduler, n=100):
    out = []
    while len(out) < n and (planned := scheduler.next()) is not None:
        out.append(planned)
    return out


class RecordingSampler:
    """Stands in for ConfigSampler: hands out numbered configurations, ``configs`` in turn, and keeps
    what it is told."""

    def __init__(self, configs):
        self.configs, self.asked, self.told = configs, 0, []

    def ask(self):
        family, params = self.configs[self.asked % len(self.configs)]
        self.asked += 1
        return self.asked - 1, family, dict(params)

    def tell(self, number, value):
        self.told.append((number, value))

    def add_finished(self, family, params, value):
        self.told.append((None, value))


def test_the_queue_orders_by_expected_gain_per_estimated_second(plan_only_family):
    # a: first point 1 s (gain 1.0 -> 1.0/s), second 0.1 s (gain 0.5 -> 5/s); b: 3 s (gain 1.0 -> 0.33/s).
    plan_only_family("a", points=[{"cost": 1.0}, {"cost": 0.1}])
    plan_only_family("b", points=[{"cost": 3.0}])
    scheduler = Scheduler(["a", "b"], 1000, 4, seed=0, epochs=None, sample=False)
    order = _drain(scheduler)
    assert [(p.family, p.params["cost"], p.origin) for p in order] == [
        ("a", 0.1, "start"), ("a", 1.0, "first"), ("b", 3.0, "first")]
    assert [p.config_id for p in order] == ["s2", "s0", "s1"]   # ids keep the plan's order
    assert all(p.rung == 0 and p.fraction == 1.0 for p in order)  # one rung on 1000 rows
    assert [p.estimated_fit_s for p in order] == pytest.approx([0.1, 1.0, 3.0])


def test_a_family_s_first_point_is_worth_twice_its_later_ones(plan_only_family):
    # b's first point (1.0 gain / 1 s) outranks a's cheaper second one (0.5 gain / 0.6 s = 0.83/s).
    plan_only_family("a", points=[{"cost": 1.0}, {"cost": 0.6}])
    plan_only_family("b", points=[{"cost": 1.0}])
    scheduler = Scheduler(["a", "b"], 1000, 4, seed=0, epochs=None, sample=False)
    assert [(p.family, p.origin) for p in _drain(scheduler)] == [("a", "first"), ("b", "first"), ("a", "start")]


def test_ties_keep_the_order_of_arrival(plan_only_family):
    for name in ("c", "a", "b"):
        plan_only_family(name, points=[{"cost": 1.0}])
    scheduler = Scheduler(["c", "a", "b"], 1000, 4, seed=0, epochs=None, sample=False)
    assert [p.family for p in _drain(scheduler)] == ["c", "a", "b"]


def test_a_huge_estimate_goes_last_but_is_still_handed_out(plan_only_family):
    plan_only_family("huge", points=[{"cost": 1e9}])
    plan_only_family("free", points=[{"cost": 0.0}])     # no division by zero: priority is capped
    plan_only_family("cheap", points=[{"cost": 1.0}, {"cost": 1.0}])
    scheduler = Scheduler(["huge", "free", "cheap"], 1000, 4, seed=0, epochs=None, sample=False)
    order = _drain(scheduler)
    # Planned as free, cheap, huge, then cheap's second point; at 0.5/s that second point still
    # outranks a first point at 1e-9/s.
    assert [p.config_id for p in order] == ["s0", "s1", "s3", "s2"]
    assert [p.family for p in order] == ["free", "cheap", "cheap", "huge"]
    assert order[-1].estimated_fit_s == pytest.approx(1e9)   # skipping it is the loop's call, not the queue's


def test_without_a_sampler_the_queue_runs_dry(plan_only_family):
    plan_only_family("a", points=[{"cost": 1.0}, {"cost": 2.0}])
    scheduler = Scheduler(["a"], 1000, 4, seed=0, epochs=None, sample=False)
    assert scheduler.n_queued == 2
    assert len(_drain(scheduler)) == 2
    assert scheduler.n_queued == 0
    assert scheduler.next() is None


def test_starting_points_come_before_any_sample(plan_only_family):
    plan_only_family("a", points=[{"cost": 1e6}, {"cost": 1e6}], space=SPACE)   # dearer than any sample
    scheduler = Scheduler(["a"], 18_000, 4, seed=0, epochs=None)
    order = _drain(scheduler, n=5)
    assert [p.origin for p in order] == ["first", "start", "sampled", "sampled", "sampled"]
    assert [(p.rung, p.fraction) for p in order[:2]] == [(2, 1.0), (2, 1.0)]   # starting points use all rows
    sample = order[2]
    assert (sample.rung, sample.fraction, sample.sampler_number, sample.config_id) == (0, pytest.approx(1 / 9), 0, "o0")
    assert 0.5 <= sample.params["cost"] <= 2.0
    # The estimate is for the rung's rows: a ninth of 18,000.
    assert sample.estimated_fit_s == pytest.approx(sample.params["cost"] * 2, rel=1e-3)
    assert scheduler.n_queued == 0   # samples are drawn on demand, never queued


def test_as_many_trials_as_asked_for_with_a_sampler(plan_only_family):
    plan_only_family("a", points=[{"cost": 1.0}], space=SPACE)
    scheduler = Scheduler(["a"], 1000, 4, seed=0, epochs=None)
    order = _drain(scheduler, n=12)
    assert len(order) == 12 and len({p.config_id for p in order}) == 12


def _sampling_scheduler(plan_only_family, n_rows, configs=(("a", {"cost": 1.0}),)):
    """A scheduler past its starting points, drawing ``configs`` from a RecordingSampler."""
    for family in dict(configs):
        plan_only_family(family, points=[{"cost": 1.0}])
    scheduler = Scheduler(list(dict(configs)), n_rows, 4, seed=0, epochs=None, sample=False)
    for start in _drain(scheduler):
        scheduler.tell(start, 0.5)
    scheduler.sampler = RecordingSampler(list(configs))
    return scheduler


def test_the_best_third_of_a_rung_is_promoted_ahead_of_new_samples(plan_only_family):
    scheduler = _sampling_scheduler(plan_only_family, 4_500)   # rungs: 1/3, all
    samples = [scheduler.next() for _ in range(3)]
    assert [(p.rung, p.origin) for p in samples] == [(0, "sampled")] * 3
    for planned, metric in zip(samples, [0.6, 0.9, 0.7], strict=True):
        scheduler.tell(planned, metric)
    assert scheduler.n_queued == 1
    promoted = scheduler.next()
    assert (promoted.origin, promoted.config_id, promoted.rung, promoted.fraction) == ("promoted", "o1", 1, 1.0)
    assert promoted.sampler_number == 1 and promoted.params == samples[1].params
    assert promoted.estimated_fit_s == pytest.approx(4.5)   # re-estimated on all 4,500 rows, not 1,500
    assert scheduler.next().origin == "sampled"


def test_promotions_climb_every_rung(plan_only_family):
    scheduler = _sampling_scheduler(plan_only_family, 13_500)   # rungs: 1/9, 1/3, all
    low = [scheduler.next() for _ in range(9)]
    for i, planned in enumerate(low):
        scheduler.tell(planned, 0.9 - i / 20)     # o0, o1, o2 become the top third, in that order
    middle = _drain(scheduler, n=3)
    assert [(p.config_id, p.rung, p.fraction) for p in middle] == [
        ("o0", 1, pytest.approx(1 / 3)), ("o1", 1, pytest.approx(1 / 3)), ("o2", 1, pytest.approx(1 / 3))]
    assert [p.estimated_fit_s for p in middle] == pytest.approx([4.5] * 3)   # a third of 13,500 rows
    for planned, metric in zip(middle, [0.2, 0.9, 0.5], strict=True):
        scheduler.tell(planned, metric)
    top = scheduler.next()
    assert (top.config_id, top.rung, top.fraction, top.origin) == ("o1", 2, 1.0, "promoted")
    assert scheduler.next().origin == "sampled"


def test_promotions_waiting_together_go_cheapest_first(plan_only_family):
    scheduler = _sampling_scheduler(plan_only_family, 4_500, configs=[("dear", {"cost": 3.0}),
                                                                      ("cheap", {"cost": 1.0})])
    samples = [scheduler.next() for _ in range(6)]
    for planned, metric in zip(samples, [0.9, 0.1, 0.2, 0.8, 0.3, 0.4], strict=True):
        scheduler.tell(planned, metric)   # o0 (dear) is due after three results, o3 (cheap) after six
    assert scheduler.n_queued == 2
    first, second = scheduler.next(), scheduler.next()
    assert [(p.config_id, p.family) for p in (first, second)] == [("o3", "cheap"), ("o0", "dear")]
    assert [p.estimated_fit_s for p in (first, second)] == pytest.approx([4.5, 13.5])


def test_what_tpe_is_told_at_each_rung(plan_only_family):
    scheduler = _sampling_scheduler(plan_only_family, 4_500)
    sampler = scheduler.sampler
    samples = [scheduler.next() for _ in range(4)]
    scheduler.tell(samples[0], 0.6)
    scheduler.tell(samples[1], None)     # a failure is told as such at once
    scheduler.tell(samples[2], 0.8)
    scheduler.tell(samples[3], 0.7)      # o2 goes up now, after its low-rung result was told
    assert sampler.told == [(0, 0.6), (1, None), (2, 0.8), (3, 0.7)]
    assert scheduler.n_queued == 1
    promoted = scheduler.next()
    scheduler.tell(promoted, 0.85)       # the top rung's result is told too (ConfigSampler keeps the first)
    assert sampler.told[-1] == (2, 0.85)


def test_a_configuration_promoted_as_it_finishes_is_told_only_at_the_top(plan_only_family):
    scheduler = _sampling_scheduler(plan_only_family, 4_500)
    sampler = scheduler.sampler
    samples = [scheduler.next() for _ in range(3)]
    for planned, metric in zip(samples, [0.6, 0.5, 0.9], strict=True):
        scheduler.tell(planned, metric)
    assert sampler.told == [(0, 0.6), (1, 0.5)]
    scheduler.tell(scheduler.next(), 0.95)
    assert sampler.told[-1] == (2, 0.95)


def test_a_failed_trial_is_never_promoted(plan_only_family):
    scheduler = _sampling_scheduler(plan_only_family, 4_500)
    samples = [scheduler.next() for _ in range(3)]
    for planned in samples:
        scheduler.tell(planned, None)
    assert scheduler.n_queued == 0
    assert scheduler.rungs.results.get(0, {}) == {}


def test_restore_drops_what_a_resumed_run_already_did(plan_only_family):
    plan_only_family("a", points=[{"cost": 1.0}, {"cost": 2.0}])
    scheduler = Scheduler(["a"], 1000, 4, seed=0, epochs=None, sample=False)
    done = scheduler.next()
    fresh = Scheduler(["a"], 1000, 4, seed=0, epochs=None, sample=False)
    fresh.restore(done, 0.7)
    assert [p.config_id for p in _drain(fresh)] == ["s1"]
    assert fresh.rungs.results[0] == {"s0": 0.7}


def test_a_resumed_run_promotes_no_configuration_twice(plan_only_family):
    scheduler = _sampling_scheduler(plan_only_family, 4_500)
    low = [scheduler.next() for _ in range(3)]
    for planned, metric in zip(low, [0.9, 0.1, 0.2], strict=True):
        scheduler.tell(planned, metric)
    promoted = scheduler.next()
    scheduler.tell(promoted, 0.95)
    # The run is killed and resumed: a fresh scheduler replays the four finished trials.
    fresh = _sampling_scheduler(plan_only_family, 4_500)
    for planned, metric in [(low[0], 0.9), (low[1], 0.1), (low[2], 0.2), (promoted, 0.95)]:
        fresh.restore(planned, metric)
    assert fresh.sampler.told == [(None, 0.9), (None, 0.1), (None, 0.2)]   # the low-rung samples
    fresh.sampler.asked = 3
    new = fresh.next()
    assert new.config_id == "o3"
    fresh.tell(new, 0.05)   # four results on the low rung: o0 still holds the one place, and has run above
    assert fresh.n_queued == 0


def test_the_family_the_modality_favours_goes_first_whatever_it_costs(plan_only_family, monkeypatch):
    plan_only_family("cheap", points=[{"cost": 0.1}, {"cost": 0.2}])
    slow = plan_only_family("slow", points=[{"cost": 50.0}, {"cost": 60.0}])
    monkeypatch.setattr(slow, "favoured", ("image",))
    on_images = _drain(Scheduler(["cheap", "slow"], 1000, 4, seed=0, epochs=None, sample=False, modality="image"))
    # Every starting point of the favoured family, in its order, then the others by gain per second.
    assert [(p.family, p.params["cost"], p.origin) for p in on_images] == [
        ("slow", 50.0, "favoured"), ("slow", 60.0, "favoured"), ("cheap", 0.1, "first"), ("cheap", 0.2, "start")]
    on_tables = _drain(Scheduler(["cheap", "slow"], 1000, 4, seed=0, epochs=None, sample=False, modality="tabular"))
    assert on_tables[-1].family == "slow" and "favoured" not in {p.origin for p in on_tables}


def test_estimates_count_classes_and_folds(plan_only_family, monkeypatch):
    trees = plan_only_family("trees", points=[{"cost": 1.0}])
    monkeypatch.setattr(trees, "cost_per_class", True)
    plan_only_family("flat", points=[{"cost": 1.0}])
    ten_classes = {p.family: p.estimated_fit_s for p in _drain(
        Scheduler(["trees", "flat"], 1000, 4, seed=0, epochs=None, sample=False, n_classes=10))}
    assert ten_classes == pytest.approx({"trees": 10.0, "flat": 1.0})
    binary = {p.family: p.estimated_fit_s for p in _drain(
        Scheduler(["trees", "flat"], 1000, 4, seed=0, epochs=None, sample=False, n_classes=2))}
    assert binary == pytest.approx({"trees": 1.0, "flat": 1.0})  # one booster for two classes
    folds = _drain(Scheduler(["flat"], 1000, 4, seed=0, epochs=None, cost_factor=5, rungs=False, sample=False))
    assert folds[0].estimated_fit_s == pytest.approx(5.0) and folds[0].fraction == 1.0


def test_estimates_are_calibrated_by_what_the_run_measured(plan_only_family):
    plan_only_family("a", points=[{"cost": 1.0}, {"cost": 2.0}, {"cost": 4.0}])
    plan_only_family("b", points=[{"cost": 1.0}])
    scheduler = Scheduler(["a", "b"], 1000, 4, seed=0, epochs=None, sample=False)
    first = scheduler.next()
    assert (first.family, first.estimated_fit_s) == ("a", pytest.approx(1.0))
    scheduler.tell(first, 0.9, fit_s=3.0)  # three times slower than its prior
    rest = _drain(scheduler)
    by = {(p.family, p.params["cost"]): p for p in rest}
    assert by[("a", 2.0)].estimated_fit_s == pytest.approx(6.0) and by[("a", 2.0)].prior_fit_s == pytest.approx(2.0)
    assert by[("b", 1.0)].estimated_fit_s == pytest.approx(1.0)  # another family keeps its prior
    failed = Scheduler(["a"], 1000, 4, seed=0, epochs=None, sample=False)
    failed.tell(failed.next(), None, fit_s=100.0)  # a failed trial teaches nothing about cost
    assert failed.next().estimated_fit_s == pytest.approx(2.0)


def test_imbalanced_classes_also_try_each_family_s_first_point_balanced(plan_only_family):
    plan_only_family("a", points=[{"cost": 1.0}, {"cost": 0.6}])
    plan_only_family("b", points=[{"cost": 2.0}])
    scheduler = Scheduler(["a", "b"], 1000, 4, seed=0, epochs=None, sample=False, n_classes=2, balance=True)
    order = [(p.family, p.params["cost"], p.origin, p.class_weight, p.config_id) for p in _drain(scheduler)]
    # Gains per estimated second: a first 1.0, a second 0.83, a balanced 0.7, b first 0.5, b balanced 0.35.
    assert order == [("a", 1.0, "first", None, "s0"), ("a", 0.6, "start", None, "s2"),
                     ("a", 1.0, "balanced", "balanced", "s0b"), ("b", 2.0, "first", None, "s1"),
                     ("b", 2.0, "balanced", "balanced", "s1b")]
    plain = Scheduler(["a", "b"], 1000, 4, seed=0, epochs=None, sample=False, n_classes=2)
    assert all(p.class_weight is None for p in _drain(plain))
