"""The search loop: feed the scheduler's trials to the executor until the plan, the budget or the
patience runs out, and record every trial in the run store as it starts and ends."""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..blobs import SharedCache
from ..errors import ConfigError
from ..features.cache import PreparedData
from ..features.prepared import joined_labels
from ..models.derived.ensemble import EnsembleFamily
from ..models.metrics import Metric, default_metric, tune_threshold
from ..models.neural.epochs import EpochLogReader
from ..models.registry import family_source, get_family
from ..search.budget import BudgetPlan
from ..search.trial import TrialResult, trial_id_for
from ..search.validation import fold_fit_rows
from .callbacks import CallbackRunner
from .ensemble import DEV_OUTPUTS, build_ensemble
from .executor import Executor, Outcome
from .refit import MIN_LENGTH_SHARE, REFIT_SUFFIX, apply_refit, refit_candidates, refit_estimate_s, refit_params
from .runstore import RunStore
from .scheduler import PlannedTrial, Scheduler
from .worker import TrialSpec

__all__ = ["LoopSettings", "run_loop"]

_POLL_S = 0.02
_FORCED_WAIT_S = 60.0      # the longest a forced trial waits for its worker server's imports
_MAX_SKIPS_IN_A_ROW = 20
_MIN_FIT_S = 0.2           # the least time a trial is started with, beyond the time to measure it
_ANYTIME_SHARE = 0.25      # the share of its estimate a trial that stops at its deadline is started with
_STREAMED_REFIT_COST = 2.0  # a refit reading every row of a table bigger than memory, per second its trial fitted
_STREAMED_REFIT_FLOOR = 0.25  # the least share of the search kept back for that refit


@dataclass
class LoopSettings:
    """How one search runs: its budget plan, threads per trial, seed, patience and where models go."""

    run_id: str
    plan: BudgetPlan            # the engine's part of the budget, in slices (search.budget)
    threads_per_trial: int
    seed: int
    epochs: int | None
    run_dir: Path
    dollars_per_core_second: float
    dollars_per_gpu_second: float = 0.0
    max_trials: int | None = None
    patience: int = 40          # stop after this many finished trials without a real improvement
    refit: bool = True          # train the candidates a user may choose again on train + dev at the end
    needs: tuple[str, ...] = ()  # modules every family of the search needs in its workers (torch)
    deterministic: bool = False  # fits stop at their lengths, never at deadlines (SearchConfig)
    folds: int = 0              # rank on k-fold out-of-fold predictions over train + dev (search.validation)
    n_rank_rows: int = 0        # the rows candidates are ranked on (for the metric's noise)
    shared: SharedCache | None = None  # the cache of every node (LEPTON_CACHE): trained models go there too
    # A table bigger than memory: the searched sample's refits read every row prepared in this folder
    # (features.streamed), one at a time with every core, instead of train + dev.
    streamed_dir: str | None = None
    streamed_rows: int = 0
    streamed_memory: int | None = None  # the memory the refit on every row may hold
    metric: Metric | None = None  # the metric the user gave (models.metrics); None: the task's default
    extra: dict[str, Any] = field(default_factory=dict)


def run_loop(settings: LoopSettings, prepared: PreparedData, scheduler: Scheduler, executor: Executor,
             store: RunStore, *, started: float, finished: Sequence[TrialResult] = (),
             rerun: Sequence[tuple[int, PlannedTrial]] = (), callbacks: CallbackRunner | None = None) -> \
        list[TrialResult]:
    """Run trials until done; return every trial record (those given in ``finished`` first).

    ``started`` is the ``time.monotonic()`` at which the budget began; ``rerun`` lists trials cut
    off by an earlier kill, by index, run again first under their own ids.
    """
    runner = callbacks if callbacks is not None else CallbackRunner()
    state = _LoopState(settings, prepared, scheduler, executor, store, started, runner)
    state.trials.extend(finished)
    state.next_index = 1 + max((t.index for t in finished), default=-1)
    state.rerun = list(rerun)
    if rerun:
        state.next_index = max(state.next_index, 1 + max(index for index, _ in rerun))
    try:
        state.run()
        state.fail_reruns()
        if not state.stopped_by_callback:  # a callback that ends the search ends it now: no more work
            state.ensemble()
            if settings.refit:
                state.refit()
    finally:
        for outcome in executor.stop_all("stopped: the search ended"):
            if not outcome.trial_id.endswith(REFIT_SUFFIX):  # an interrupted refit leaves its trial as it was
                state.finish(outcome)
        executor.close()
    return state.trials


class _LoopState:
    def __init__(self, settings: LoopSettings, prepared: PreparedData, scheduler: Scheduler, executor: Executor,
                 store: RunStore, started: float, callbacks: CallbackRunner) -> None:
        self.s, self.prepared, self.scheduler = settings, prepared, scheduler
        self.plan = settings.plan
        self.executor, self.store = executor, store
        self.callbacks = callbacks
        self.epoch_logs = EpochLogReader()
        self.started = started
        self.deadline = started + self.plan.search_s         # monotonic
        self.reserve = self.plan.selection_s                 # for selection and saving after the loop
        self.trials: list[TrialResult] = []
        self.planned: dict[str, PlannedTrial] = {}
        self.next_index = 0
        self.rerun: list[tuple[int, PlannedTrial]] = []
        self.stale = 0
        self.best: float | None = None
        self.stopped_by_callback = False
        n_train, n_dev = int(prepared.info.get("n_train") or 0), int(prepared.info.get("n_dev") or 0)
        # A refit trains once on every row; a trial's fit_s covered its one fit on train (or, under
        # folds, one fit per fold on a fold's training rows).
        if settings.folds:
            fold_rows = fold_fit_rows(n_train + n_dev, settings.folds)
            self.growth = (n_train + n_dev) / (settings.folds * fold_rows)
        else:
            self.growth = (n_train + n_dev) / n_train if n_train else 1.0
        # A refit that reads every row of a table bigger than memory feeds LightGBM's Sequence from a
        # file in Python batches, and starts a worker that opens it: the trial's fit on arrays is a
        # floor of its time, so twice that is kept back for it.
        self.stream_cost = 1.0
        if settings.streamed_dir:
            self.growth = settings.streamed_rows / n_train if n_train else 1.0
            self.stream_cost = _STREAMED_REFIT_COST
        self.refit_reserve = 0.0  # seconds kept back from the search for the refits
        self.metric = settings.metric or default_metric(prepared.schema.task)
        self.exclusive = ""  # a trial running alone with every core: nothing else starts while it runs

    # ---- the loop ------------------------------------------------------------------------
    def run(self) -> None:
        skips = 0
        # Trials launched before the worker server has its imports would lose that time from their
        # fit window (and a short budget would cut them to nothing); the wait is budget time anyway.
        # A favoured trial goes first, so the modules it needs (torch for a CNN) are waited for too:
        # started before them, it would import them itself, on the same cores, no sooner.
        needs = {*self.s.needs, *(m for f in self.scheduler.favoured_families() for m in get_family(f).preload)}
        self.executor.wait_ready(sorted(needs), self.deadline - self.reserve - time.monotonic())
        # Less than the time to measure a model left (a cached preparation can leave a sliver of a
        # tiny budget): the cheapest candidate runs past the budget rather than being cut to nothing.
        if self.deadline - self.reserve - time.monotonic() <= self.plan.measure_s and not self.trials:
            self._force_first()
        while True:
            remaining = self.deadline - self.reserve - self.refit_reserve - time.monotonic()
            launching = remaining > 0 and not self._done()
            while launching and self.executor.free_slots() > 0 and skips < _MAX_SKIPS_IN_A_ROW \
                    and self.exclusive not in self.executor.running() and not self._done():
                # Read again for every launch: the launch before wrote to the store, which on a busy
                # machine (or a remote database) takes a part of the seconds left.
                remaining = self.deadline - self.reserve - self.refit_reserve - time.monotonic()
                if self._ok_count() > 0 and remaining < self.plan.measure_s + _MIN_FIT_S:
                    launching = False  # a trial started now could not be fitted and measured in time
                    break
                index, planned = self._next()
                if planned is None:
                    launching = False
                    break
                remaining = self.deadline - self.reserve - self.refit_reserve - time.monotonic()
                if self._ok_count() > 0 and remaining < self.plan.measure_s + _MIN_FIT_S:
                    self._skip(index, planned, remaining)  # the time went while it was chosen
                    launching = False
                    break
                if self._ok_count() > 0 and not self._can_return(planned, remaining):
                    if planned.origin == "sampled":  # the sampler would only offer more: stop launching
                        launching = False
                        break
                    self._skip(index, planned, remaining)  # a planned starting point or promotion left out
                    skips += 1
                    continue
                skips = 0
                # A first trial that the budget cannot even pay for runs alone with every core: split
                # between trials, the seconds left would train two models that both stop early. So does
                # a favoured family's first trial (a CNN on images) that would take most of the budget.
                share = 0.5 if planned.origin == "favoured" else 1.0
                if not self.executor.running() and self.executor.slots > 1 and \
                        planned.estimated_fit_s > share * remaining:
                    self.exclusive = trial_id_for(index)
                self._launch(index, planned, remaining)
            if not self.executor.running():
                if not launching or skips >= _MAX_SKIPS_IN_A_ROW:
                    return
                continue
            for outcome in self.executor.poll(_POLL_S):
                self.finish(outcome)
            self._report_epochs(self.epoch_logs.poll())
            # Trials in flight were given their own deadlines when they started (the refit reserve of that
            # moment taken off), so they end by themselves; only the end of the budget stops them.
            if time.monotonic() >= self.deadline - self.plan.stop_margin_s:
                for outcome in self.executor.stop_all("stopped at the end of the budget"):
                    self.finish(outcome)
                return

    def fail_reruns(self) -> None:
        """Record every cut-off trial the search ended without rerunning as failed, with the reason.

        A resumed run reruns them first, but one whose budget (or patience, or max_trials) is spent
        by then cannot; left ``running`` in the store, they would be lost from every leaderboard.
        """
        while self.rerun:
            index, planned = self.rerun.pop(0)
            left = max(0.0, self.deadline - time.monotonic())
            trial = TrialResult(trial_id=trial_id_for(index), index=index, family=planned.family,
                                params=dict(planned.params), status="failed", estimated_fit_s=planned.estimated_fit_s,
                                error=f"cut off when the run was killed, and the resumed search ended before it could "
                                      f"run again ({left:.1f}s of the budget left)", **_planned_fields(planned))
            self.trials.append(trial)
            self.store.put_trial(self.s.run_id, trial)
            self.scheduler.tell(planned, None)

    def _force_first(self) -> None:
        """A budget too small for any trial still gets the cheapest one (the caller warns)."""
        index, planned = self._next()
        if planned is not None:
            planned.forced = True
            window = self.plan.forced_window_s(planned.estimated_fit_s)
            # It is past the budget already: its window counts from when its worker can start.
            self.executor.wait_ready(get_family(planned.family).preload, _FORCED_WAIT_S)
            self.exclusive = trial_id_for(index)
            self._launch(index, planned, window, forced=True)
            while self.executor.running():
                for outcome in self.executor.poll(_POLL_S):
                    self.finish(outcome)

    def finish(self, outcome: Outcome) -> None:
        planned = self.planned.pop(outcome.trial_id, None)
        trial = outcome.trial
        if planned is not None:
            trial = dataclasses.replace(trial, **_planned_fields(planned))
        if trial.ok and self.s.metric is not None:  # workers score by the task's default
            self._rescore(trial)
        self.trials.append(trial)
        if trial.ok:
            share_trial(self.s.shared, self.s.run_dir, self.s.run_id, trial.trial_id)
        self.store.put_trial(self.s.run_id, trial)
        self.store.update_run(self.s.run_id, spent_s=time.monotonic() - self.started)
        if planned is not None:
            self.scheduler.tell(planned, trial.dev_metric if trial.ok else None, trial.fit_s if trial.ok else None)
        self._track_progress(trial)
        self._update_refit_reserve()
        self._report_epochs((outcome.trial_id, r) for r in self.epoch_logs.forget(outcome.trial_id))
        self.callbacks.on_queue(self.scheduler.n_queued)
        if self.callbacks.on_trial_end(trial) and not self.stopped_by_callback:
            self.stopped_by_callback = True
            for other in self.executor.stop_all("stopped: a callback ended the search"):
                self.finish(other)

    def _rescore(self, trial: TrialResult) -> None:
        """Score a trial by the search's metric from the dev outputs its worker saved (the worker
        scores by the task's default; a metric of the user's may not even import in a worker), and
        for a metric the user gave, tune its binary decision threshold on the same rows (the dev
        metric that ranks it stays the most-probable-class one); one the metric cannot score fails
        with the metric's error."""
        path = self.s.run_dir / DEV_OUTPUTS / f"{trial.trial_id}.npy"
        try:
            output, (y, weight) = np.load(path, allow_pickle=False), self._rank_rows()
            trial.dev_metric = self.metric.score(self.prepared.schema.task, y, output, weight=weight)
            trial.metric_name = self.metric.name
            if self.s.metric is not None and self.prepared.schema.task == "classification":
                trial.threshold = tune_threshold(self.metric, y, output, weight)
        except (ConfigError, OSError, ValueError) as exc:
            trial.status, trial.error = "failed", str(exc)

    def _rank_rows(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The labels and sample weights (``None``: unweighted) of the rows trials are ranked on:
        out-of-fold over train + dev, or the dev split."""
        train, dev = self.prepared.views["dense"]
        return joined_labels(train, dev) if self.s.folds else (np.asarray(dev.y), dev.weight)

    # ---- ensemble and refit ----------------------------------------------------------------
    def ensemble(self) -> None:
        """Add the greedy ensemble of the best candidates as one more trial, when it beats them."""
        # The rows the trials' saved outputs predict: out-of-fold over train + dev, or the dev split.
        y, weight = self._rank_rows()
        trial = build_ensemble(self.trials, self.s.run_dir / DEV_OUTPUTS, y, self.prepared.schema.task,
                               self.next_index, self.s.metric, weight)
        if trial is None:
            return
        model = EnsembleFamily(**trial.params)
        model._set_task(self.prepared.views["dense"][1])
        model.save(self.s.run_dir / "trials" / trial.trial_id)
        share_trial(self.s.shared, self.s.run_dir, self.s.run_id, trial.trial_id)
        self.next_index += 1
        self.trials.append(trial)
        self.store.put_trial(self.s.run_id, trial)

    def refit(self) -> None:
        """Train the candidates a user may choose again on train + dev, while the budget allows.

        On a table bigger than memory the refit reads every row: one runs at a time (it takes the
        memory a second would need), candidates best first, until one is applied; one whose estimate
        does not fit what is left gives way to the next.
        """
        pending = refit_candidates(self.trials, limit=2 * self.executor.slots)
        by_id = {f"{t.trial_id}{REFIT_SUFFIX}": t for t in pending}
        streamed = bool(self.s.streamed_dir)
        while pending or self.executor.running():
            remaining = self.deadline - self.reserve - time.monotonic()
            while pending and self.executor.free_slots() > 0 and not (streamed and self.executor.running()):
                trial = pending.pop(0)
                # A refit cut short by the deadline is thrown away, so one that may just fit is tried;
                # one that stops at its deadline with what it learned is kept from MIN_LENGTH_SHARE of its length.
                share = MIN_LENGTH_SHARE if get_family(trial.family).anytime else 1.0
                if share * self.stream_cost * refit_estimate_s(trial, self.growth, safety=1.0) + self.plan.measure_s \
                        > remaining:
                    trial.refit_error = f"budget: {max(remaining, 0):.1f}s left for the refit"
                    self.store.put_trial(self.s.run_id, trial)
                    continue
                self._launch_refit(trial, remaining)
            for outcome in self.executor.poll(_POLL_S):
                if self._finish_refit(by_id[outcome.trial_id], outcome) and streamed:
                    pending.clear()  # the model that read every row is there: the others would only repeat it
            if time.monotonic() >= self.deadline - self.plan.stop_margin_s:
                for outcome in self.executor.stop_all("stopped at the end of the budget"):
                    self._finish_refit(by_id[outcome.trial_id], outcome)
                return

    def _launch_refit(self, trial: TrialResult, remaining: float) -> None:
        now_wall = time.time()
        streamed = bool(self.s.streamed_dir) and get_family(trial.family).streams
        spec = TrialSpec(
            trial_id=f"{trial.trial_id}{REFIT_SUFFIX}", index=trial.index, family=trial.family,
            params=refit_params(trial),
            data_dir=str(self.prepared.directory),
            output_dir=str(self.s.run_dir / "trials" / f"{trial.trial_id}{REFIT_SUFFIX}"),
            deadline=now_wall + self.plan.fit_window_s(remaining),
            n_threads=self.s.threads_per_trial * (self.executor.slots if streamed else 1),
            seed=self.s.seed, refit=True, stream_dir=self.s.streamed_dir if streamed else None,
            memory_bytes=self.s.streamed_memory if streamed else None,
            max_epochs=self.s.epochs, deterministic=self.s.deterministic,
            dollars_per_core_second=self.s.dollars_per_core_second,
            dollars_per_gpu_second=self.s.dollars_per_gpu_second, estimated_fit_s=refit_estimate_s(trial, 1.0),
            family_source=family_source(trial.family), class_weight=trial.class_weight,
        )
        self.executor.start(spec, now_wall + remaining + self.plan.stop_margin_s)

    def _finish_refit(self, trial: TrialResult, outcome: Outcome) -> bool:
        """Apply a finished refit to its trial; whether it was applied."""
        applied = apply_refit(trial, outcome.trial, self.s.run_dir / "trials")
        if applied:
            if outcome.trial.extra.get("fit_rows"):
                trial.extra["refit_rows"] = outcome.trial.extra["fit_rows"]
            share_trial(self.s.shared, self.s.run_dir, self.s.run_id, trial.trial_id, replace=True)
        self.store.put_trial(self.s.run_id, trial)
        return applied

    def _update_refit_reserve(self) -> None:
        """Keep back from the search what refitting today's candidates would take (BudgetPlan.refit_reserve_s)."""
        if not self.s.refit:
            return
        candidates = refit_candidates(self.trials, limit=1 if self.s.streamed_dir else 2 * self.executor.slots)
        if candidates:  # none yet: the reserve stays as it was
            seconds = [self.stream_cost * refit_estimate_s(t, self.growth) + self.plan.measure_s for t in candidates]
            self.refit_reserve = self.plan.refit_reserve_s(seconds, self.executor.slots)
            if self.s.streamed_dir:  # the model a user gets: a worker's start and a measuring at least
                self.refit_reserve = max(self.refit_reserve, _STREAMED_REFIT_FLOOR * self.plan.search_s)

    # ---- helpers -------------------------------------------------------------------------
    def _next(self) -> tuple[int, PlannedTrial | None]:
        """The index of the next trial (its id is ``trial_id_for`` it) and what it runs."""
        if self.rerun:
            return self.rerun.pop(0)
        planned = self.scheduler.next()
        index = self.next_index
        if planned is not None:
            self.next_index += 1
        return index, planned

    def _launch(self, index: int, planned: PlannedTrial, remaining: float, forced: bool = False) -> None:
        trial_id = trial_id_for(index)
        now_wall = time.time()
        plan = self.plan
        stop_fit_at = now_wall + min(plan.fit_window_s(remaining), plan.trial_limit_s(planned.estimated_fit_s))
        # A trial that ignores its fit deadline (a hang) is killed shortly after it, and never
        # later than the end of the budget.
        kill_at = stop_fit_at + self.plan.measure_s + self.plan.kill_grace_s
        if not forced:
            kill_at = min(kill_at, now_wall + remaining + self.plan.stop_margin_s)
        epoch_log = self.s.run_dir / "epochs" / f"{trial_id}.jsonl"
        self.epoch_logs.watch(trial_id, epoch_log)
        spec = TrialSpec(
            trial_id=trial_id, index=index, family=planned.family, params=dict(planned.params),
            data_dir=str(self.prepared.directory), output_dir=str(self.s.run_dir / "trials" / trial_id),
            deadline=stop_fit_at, n_threads=self._threads(trial_id), seed=self.s.seed, fidelity=planned.fraction,
            max_epochs=self.s.epochs, dollars_per_core_second=self.s.dollars_per_core_second,
            dollars_per_gpu_second=self.s.dollars_per_gpu_second,
            estimated_fit_s=planned.estimated_fit_s, family_source=family_source(planned.family),
            epoch_log=str(epoch_log), deterministic=self.s.deterministic, folds=self.s.folds,
            class_weight=planned.class_weight,
        )
        self.planned[trial_id] = planned
        queued = dataclasses.replace(spec.started(), **_planned_fields(planned))
        self.store.put_trial(self.s.run_id, queued, status="running")
        self.callbacks.on_trial_start(trial_id, planned)
        self.callbacks.on_queue(self.scheduler.n_queued)
        self.executor.start(spec, kill_at)

    def _threads(self, trial_id: str) -> int:
        share = self.s.threads_per_trial
        return share * self.executor.slots if trial_id == self.exclusive else share

    def _report_epochs(self, records: Iterable[tuple[str, dict[str, Any]]]) -> None:
        for trial_id, record in records:
            self.callbacks.on_epoch(trial_id, record)

    def _can_return(self, planned: PlannedTrial, remaining: float) -> bool:
        """Whether ``planned`` started now can return a model in ``remaining`` seconds: a family that
        stops at its deadline with what it learned (``ModelFamily.anytime``) needs ``_ANYTIME_SHARE``
        of its estimate; any other, its whole estimate and the time to measure it."""
        if get_family(planned.family).anytime:
            return _ANYTIME_SHARE * planned.estimated_fit_s <= remaining
        return planned.estimated_fit_s + self.plan.measure_s <= remaining

    def _skip(self, index: int, planned: PlannedTrial, remaining: float) -> None:
        trial = TrialResult(trial_id=trial_id_for(index), index=index, family=planned.family,
                            params=dict(planned.params), status="skipped",
                            error=f"budget: {max(remaining, 0):.1f}s left, estimated {planned.estimated_fit_s:.1f}s",
                            estimated_fit_s=planned.estimated_fit_s, **_planned_fields(planned))
        self.trials.append(trial)
        self.store.put_trial(self.s.run_id, trial)
        self.scheduler.tell(planned, None)

    def _done(self) -> bool:
        if self.stopped_by_callback:
            return True
        if self.s.max_trials is not None and len(self.trials) + len(self.executor.running()) >= self.s.max_trials:
            return True
        return self.stale >= self.s.patience

    def _ok_count(self) -> int:
        return sum(1 for t in self.trials if t.ok)

    def _track_progress(self, trial: TrialResult) -> None:
        if not trial.ok or trial.rung_fraction < 1.0:
            self.stale += 1 if trial.status != "skipped" else 0
            return
        assert trial.dev_metric is not None
        rows = self.s.n_rank_rows or int(self.prepared.info.get("n_dev", 0))
        noise = self.metric.noise(trial.dev_metric, rows)
        if self.best is None or trial.dev_metric > self.best + noise:
            self.stale = 0
        else:
            self.stale += 1
        self.best = trial.dev_metric if self.best is None else max(self.best, trial.dev_metric)


def _planned_fields(planned: PlannedTrial) -> dict[str, Any]:
    """The fields of a trial's record that say how the search planned it."""
    return {"origin": planned.origin, "rung": planned.rung, "rung_fraction": planned.fraction,
            "config_id": planned.config_id, "forced": planned.forced, "class_weight": planned.class_weight}


def share_trial(shared: SharedCache | None, run_dir: Path, run_id: str, trial_id: str, *,
                replace: bool = False) -> None:
    """Put a finished trial's model folder and its saved dev outputs in the cache every node shares."""
    if shared is None:
        return
    shared.put(f"model:{run_id}:{trial_id}", run_dir / "trials" / trial_id, replace=replace)
    outputs = run_dir / DEV_OUTPUTS / f"{trial_id}.npy"
    if outputs.is_file():
        shared.put_files(f"outputs:{run_id}:{trial_id}", {outputs.name: outputs}, replace=replace)


def fetch_trial(shared: SharedCache | None, run_dir: Path, run_id: str, trial_id: str) -> bool:
    """Bring a trial that another node finished (model and dev outputs) into this node's run folder;
    whether its model is here now."""
    model_dir = run_dir / "trials" / trial_id
    if model_dir.is_dir() or shared is None:
        return model_dir.is_dir()
    if not shared.get(f"model:{run_id}:{trial_id}", model_dir):
        return False
    outputs = run_dir / DEV_OUTPUTS / f"{trial_id}.npy"
    if not outputs.is_file():
        fetched = run_dir / DEV_OUTPUTS / f".{trial_id}.fetched"
        if shared.get(f"outputs:{run_id}:{trial_id}", fetched):
            os.replace(fetched / outputs.name, outputs)
            shutil.rmtree(fetched, ignore_errors=True)
    return True
