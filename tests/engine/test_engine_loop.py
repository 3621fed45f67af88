"""The search loop with a fake executor and a fake scheduler: limits, patience, failures, the run
store, callbacks and the budget, in milliseconds (the budget-end tests resume a run with a fraction of
a second left, and wait for it)."""

from __future__ import annotations

import dataclasses
import time
from types import SimpleNamespace

import numpy as np
import pytest

from lepton_ai.engine.callbacks import Callback, CallbackRunner
from lepton_ai.engine.executor import Executor, Outcome
from lepton_ai.engine.loop import LoopSettings, run_loop
from lepton_ai.engine.runstore import RunStore
from lepton_ai.engine.scheduler import PlannedTrial
from lepton_ai.features.cache import PreparedData
from lepton_ai.search.budget import BudgetPlan
from lepton_ai.search.trial import TrialResult

RUN = "run-1"


class FakeExecutor(Executor):
    """Trials in memory. ``outcome(spec)`` gives the fields of a trial's record (a dev metric, or a
    failure); ``polls(spec)`` how many polls it runs (``None``: until stopped or killed at its
    ``kill_at``, as a real executor does); ``on_start(spec)`` looks at the world as each trial starts."""

    def __init__(self, *, slots=1, outcome=None, polls=None, on_start=None):
        self.slots = slots
        self.outcome = outcome or (lambda spec: {"dev_metric": 0.8})
        self.polls = polls or (lambda spec: 1)
        self.on_start = on_start or (lambda spec: None)
        self.specs = []                  # every trial started, in order
        self.busy_at_start = []          # how many others were running as each started
        self._left = {}                  # trial id -> [spec, polls left or None]

    def start(self, spec, kill_at):
        self.on_start(spec)
        self.busy_at_start.append(len(self._left))
        self.specs.append(spec)
        self._left[spec.trial_id] = [spec, self.polls(spec), kill_at]

    def running(self):
        return list(self._left)

    def poll(self, timeout):
        done = []
        for trial_id, entry in list(self._left.items()):
            spec, polls_left, kill_at = entry
            if time.time() >= kill_at:
                del self._left[trial_id]
                done.append(_outcome(spec, status="failed", error="killed at kill_at"))
            elif polls_left is not None:
                entry[1] -= 1
                if entry[1] <= 0:
                    del self._left[trial_id]
                    done.append(_outcome(spec, **self.outcome(spec)))
        if not done and self._left:
            time.sleep(timeout)          # as a real executor waits for news
        return done

    def stop_all(self, reason):
        stopped = [_outcome(spec, status="failed", error=reason) for spec, _, _ in self._left.values()]
        self._left.clear()
        return stopped


def _outcome(spec, **fields):
    """The outcome a worker would send for ``spec``: its record with ``fields`` set."""
    trial = TrialResult(trial_id=spec.trial_id, index=spec.index, family=spec.family, params=spec.params,
                        fit_s=0.01, estimated_fit_s=spec.estimated_fit_s, n_threads=spec.n_threads)
    return Outcome(spec.trial_id, dataclasses.replace(trial, **fields))


def planned(i, *, estimate=0.01, origin="start"):
    return PlannedTrial("linear", {"i": i}, rung=0, fraction=1.0, origin=origin, config_id=f"c{i}",
                        estimated_fit_s=estimate)


class FakeScheduler:
    """Hands out ``plan`` in order, then (``endless``) sampled trials of ``sample_estimate`` seconds
    forever; keeps what it is told."""

    def __init__(self, plan=(), *, endless=False, sample_estimate=0.01):
        self.plan = list(plan)
        self.endless, self.sample_estimate = endless, sample_estimate
        self.n_handed, self.told = 0, []

    @property
    def n_queued(self):
        return len(self.plan)

    def next(self):
        if self.plan:
            self.n_handed += 1
            return self.plan.pop(0)
        if not self.endless:
            return None
        self.n_handed += 1
        return planned(100 + self.n_handed, estimate=self.sample_estimate, origin="sampled")

    def favoured_families(self):
        return []

    def tell(self, planned, metric, fit_s=None):
        self.told.append((planned.config_id, metric))


class Recorder(Callback):
    def __init__(self, stop_at=None):
        self.stop_at, self.starts, self.ends, self.queued = stop_at, [], [], []

    def on_trial_start(self, trial_id, planned):
        self.starts.append(trial_id)

    def on_queue(self, n_queued):
        self.queued.append(n_queued)

    def on_trial_end(self, trial):
        self.ends.append((trial.trial_id, trial.status))
        return trial.trial_id == self.stop_at


def _prepared(tmp_path):
    dev = SimpleNamespace(y=np.zeros(100), task="classification", weight=None)
    return PreparedData(schema=SimpleNamespace(task="classification"), preparer=None, views={"dense": (None, dev)},
                        info={"n_train": 400, "n_dev": 100}, directory=tmp_path / "prepared")


@pytest.fixture
def store(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    store.create_run(RUN, {}, None)
    return store


def _search(tmp_path, store, scheduler, executor, *, callbacks=(), started=None, finished=(), budget_s=60.0,
            **settings):
    options = {"refit": False, **settings}
    loop_settings = LoopSettings(run_id=RUN, plan=BudgetPlan.for_budget(budget_s), threads_per_trial=1, seed=0,
                                 epochs=None, run_dir=tmp_path / "run", dollars_per_core_second=0.0, **options)
    return run_loop(loop_settings, _prepared(tmp_path), scheduler, executor, store,
                    started=time.monotonic() if started is None else started, finished=finished,
                    callbacks=CallbackRunner(callbacks))


def _ids(n):
    return [f"t{i:03d}" for i in range(n)]


@pytest.mark.parametrize(("slots", "max_trials"), [(4, 6), (4, 2), (3, 3), (1, 2)])
def test_max_trials_holds_when_several_trials_end_in_one_poll(tmp_path, store, slots, max_trials):
    executor = FakeExecutor(slots=slots)
    trials = _search(tmp_path, store, FakeScheduler(endless=True), executor, max_trials=max_trials)
    assert [t.trial_id for t in trials] == _ids(max_trials)
    assert len(executor.specs) == max_trials


def test_patience_stops_after_that_many_trials_without_a_real_improvement(tmp_path, store):
    # A dev set of 100 rows: an accuracy near 0.9 moves by 0.03 by chance, so 0.91 and 0.925 are no news.
    metrics = {"t000": 0.5, "t001": None, "t002": 0.5, "t003": 0.9, "t004": 0.91, "t005": None, "t006": 0.925}

    def outcome(spec):
        metric = metrics.get(spec.trial_id, 0.99)
        return {"dev_metric": metric} if metric is not None else {"status": "failed", "error": "boom"}

    executor = FakeExecutor(outcome=outcome)
    trials = _search(tmp_path, store, FakeScheduler(endless=True), executor, patience=3)
    assert [t.trial_id for t in trials] == _ids(7)   # t003 reset the count; t004-t006 used it up
    assert len(executor.specs) == 7


def test_a_failed_trial_is_recorded_and_the_search_goes_on(tmp_path, store):
    def outcome(spec):
        return {"status": "failed", "error": "boom"} if spec.trial_id == "t001" else {"dev_metric": 0.8}

    scheduler = FakeScheduler([planned(0), planned(1), planned(2)])
    trials = _search(tmp_path, store, scheduler, FakeExecutor(outcome=outcome))
    assert [(t.trial_id, t.status, t.error) for t in trials] == [
        ("t000", "ok", None), ("t001", "failed", "boom"), ("t002", "ok", None)]
    assert scheduler.told == [("c0", 0.8), ("c1", None), ("c2", 0.8)]
    assert trials[1].config_id == "c1"   # the plan's own fields join the record


def test_every_trial_is_in_the_run_store_as_running_then_as_it_ended(tmp_path, store):
    def stored():
        return {t.trial_id: status for status, t in store.trials(RUN)}

    seen_at_start, seen_at_end = [], []

    class StoreWatcher(Callback):
        def on_trial_end(self, trial):
            seen_at_end.append((trial.trial_id, stored()[trial.trial_id]))

    def outcome(spec):
        return {"status": "failed", "error": "boom"} if spec.trial_id == "t002" else {"dev_metric": 0.8}

    executor = FakeExecutor(slots=2, outcome=outcome, on_start=lambda spec: seen_at_start.append(
        (spec.trial_id, stored().get(spec.trial_id))))
    trials = _search(tmp_path, store, FakeScheduler([planned(i) for i in range(4)]), executor,
                     callbacks=[StoreWatcher()])
    assert seen_at_start == [(tid, "running") for tid in _ids(4)]
    assert sorted(seen_at_end) == [("t000", "ok"), ("t001", "ok"), ("t002", "failed"), ("t003", "ok")]
    assert [(status, t.to_json()) for status, t in store.trials(RUN)] == [(t.status, t.to_json()) for t in trials]
    assert store.run(RUN)["spent_s"] > 0


def test_callbacks_see_every_trial_start_and_end(tmp_path, store):
    def outcome(spec):
        return {"status": "failed", "error": "boom"} if spec.trial_id == "t001" else {"dev_metric": 0.8}

    recorders = [Recorder(), Recorder()]
    scheduler = FakeScheduler([planned(i) for i in range(5)])
    trials = _search(tmp_path, store, scheduler, FakeExecutor(slots=2, outcome=outcome), callbacks=recorders)
    for recorder in recorders:
        assert recorder.starts == _ids(5)
        assert sorted(recorder.ends) == sorted((t.trial_id, t.status) for t in trials)
        assert ("t001", "failed") in recorder.ends
        assert recorder.queued[-1] == 0 and max(recorder.queued) <= 4


def test_a_callback_that_ends_the_search_lets_every_callback_see_every_trial(tmp_path, store):
    stopper, watcher = Recorder(stop_at="t000"), Recorder()
    executor = FakeExecutor(slots=2, polls=lambda spec: 1 if spec.trial_id == "t000" else 3)
    trials = _search(tmp_path, store, FakeScheduler(endless=True), executor, callbacks=[stopper, watcher])
    assert [(t.trial_id, t.status) for t in trials] == [("t000", "ok"), ("t001", "failed")]
    assert trials[1].error == "stopped: a callback ended the search"
    assert len(executor.specs) == 2   # nothing starts after the stop
    for recorder in (stopper, watcher):
        assert recorder.ends == [("t000", "ok"), ("t001", "failed")]


def test_a_planned_trial_the_budget_cannot_pay_for_is_skipped(tmp_path, store):
    # About 59 s left: a plan of 100 s is left out, one of 50 s runs (a linear fit cannot be cut: it
    # needs its whole estimate and the time to measure it).
    scheduler = FakeScheduler([planned(0), planned(1, estimate=100.0), planned(2, estimate=50.0)])
    executor = FakeExecutor()
    trials = _search(tmp_path, store, scheduler, executor)
    assert [(t.trial_id, t.status) for t in trials] == [("t000", "ok"), ("t001", "skipped"), ("t002", "ok")]
    assert trials[1].error.startswith("budget: ") and "estimated 100.0s" in trials[1].error
    assert [s.trial_id for s in executor.specs] == ["t000", "t002"]
    assert ("c1", None) in scheduler.told
    assert [status for status, _ in store.trials(RUN)] == ["ok", "skipped", "ok"]


def test_a_trial_that_stops_at_its_deadline_starts_with_less_than_its_estimate(tmp_path, store):
    # About 59 s left: boosting stopped at its deadline returns its trees, so 150 s of GBDT (a
    # quarter of it fits) starts; 300 s does not.
    scheduler = FakeScheduler([planned(0), planned(1, estimate=300.0), planned(2, estimate=150.0)])
    for p in scheduler.plan:
        p.family = "gbdt"
    trials = _search(tmp_path, store, scheduler, FakeExecutor())
    assert [(t.trial_id, t.status) for t in trials] == [("t000", "ok"), ("t001", "skipped"), ("t002", "ok")]


def test_a_sample_the_budget_cannot_pay_for_ends_launching(tmp_path, store):
    scheduler = FakeScheduler([planned(0)], endless=True, sample_estimate=1000.0)
    executor = FakeExecutor()
    trials = _search(tmp_path, store, scheduler, executor)
    assert [t.trial_id for t in trials] == ["t000"]
    assert len(executor.specs) == 1 and scheduler.n_handed == 2   # one sample asked for, then no more


def test_a_first_trial_the_budget_cannot_pay_for_runs_alone_with_every_core(tmp_path, store):
    scheduler = FakeScheduler([planned(0, estimate=1000.0), planned(1), planned(2)])
    executor = FakeExecutor(slots=2, polls=lambda spec: 3)
    trials = _search(tmp_path, store, scheduler, executor)
    assert [t.status for t in trials] == ["ok", "ok", "ok"]
    assert [(s.trial_id, s.n_threads) for s in executor.specs] == [("t000", 2), ("t001", 1), ("t002", 1)]
    assert executor.busy_at_start == [0, 0, 1]   # nothing ran beside it


def test_a_budget_too_small_for_any_trial_still_runs_the_cheapest_one(tmp_path, store):
    executor = FakeExecutor(slots=2)
    scheduler = FakeScheduler(endless=True, sample_estimate=1.0)   # every trial wants more than is left
    trials = _search(tmp_path, store, scheduler, executor, budget_s=0.3)
    assert [t.trial_id for t in trials] == ["t000"]
    assert trials[0].ok and trials[0].forced is True
    assert executor.specs[0].n_threads == 2


def test_the_end_of_the_budget_stops_the_trials_in_flight(tmp_path, store):
    # A resumed run with 2 s left, whose trials never end by themselves.
    budget_s, reserve_s = 10.0, 0.2
    executor = FakeExecutor(slots=2, polls=lambda spec: None)
    started = time.monotonic() - (budget_s - 2.0)
    trials = _search(tmp_path, store, FakeScheduler(endless=True), executor, budget_s=budget_s, started=started,
                     finished=[TrialResult("t000", 0, "linear", {}, dev_metric=0.5)])
    ended = time.monotonic()
    assert [(t.trial_id, t.status, t.error) for t in trials[1:]] == [
        ("t001", "failed", "stopped at the end of the budget"), ("t002", "failed", "stopped at the end of the budget")]
    assert started + budget_s - reserve_s <= ended < started + budget_s + 0.6   # at the end less half the reserve
    assert len(executor.specs) == 2
    assert [status for status, _ in store.trials(RUN)] == ["failed", "failed"]


def test_launching_ends_when_the_budget_is_spent(tmp_path, store):
    # A resumed run (so not "too small for any trial") with 1.2 s left before the 0.2 s kept back for
    # selection and saving; its trials take a few polls each.
    budget_s, reserve_s = 10.0, 0.2
    earlier = TrialResult("t000", 0, "linear", {}, dev_metric=0.5)
    starts = []
    executor = FakeExecutor(polls=lambda spec: 3, on_start=lambda spec: starts.append(time.monotonic()))
    started = time.monotonic() - (budget_s - reserve_s - 1.2)
    trials = _search(tmp_path, store, FakeScheduler(endless=True), executor, budget_s=budget_s, started=started,
                     finished=[earlier])
    assert trials[0] is earlier and trials[1].trial_id == "t001"
    # No trial starts with less left than it needs to be fitted a little and measured (0.6 + 0.2 s);
    # the start is seen after the trial's row is written to the store, which a busy machine can hold
    # up for a tenth of a second.
    assert starts and max(starts) <= started + budget_s - reserve_s - 0.8 + 0.2
    assert time.monotonic() < started + budget_s + 0.6
