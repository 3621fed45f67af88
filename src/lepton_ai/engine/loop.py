"""The search loop: feed the scheduler's trials to the executor until the plan, the budget or the
patience runs out, and record every trial in the run store as it starts and ends."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..features.cache import PreparedData
from ..models.registry import family_source
from ..search.frontier import metric_noise
from ..search.trial import TrialResult
from .callbacks import Callback
from .executor import Executor, Outcome
from .runstore import RunStore
from .scheduler import PlannedTrial, Scheduler
from .worker import TrialSpec

__all__ = ["LoopSettings", "run_loop"]

_POLL_S = 0.02
_MEASURE_RESERVE_S = 0.6   # after fit stops: scoring, timing and saving the model
_MAX_SKIPS_IN_A_ROW = 20


@dataclass
class LoopSettings:
    """How one search runs: budget, threads per trial, seed, patience and where models go."""

    run_id: str
    budget_s: float
    threads_per_trial: int
    seed: int
    epochs: int | None
    run_dir: Path
    dollars_per_core_second: float
    dollars_per_gpu_second: float = 0.0
    max_trials: int | None = None
    patience: int = 40          # stop after this many finished trials without a real improvement
    hard_timeout_factor: float = 20.0
    extra: dict[str, Any] = field(default_factory=dict)


def run_loop(settings: LoopSettings, prepared: PreparedData, scheduler: Scheduler, executor: Executor,
             store: RunStore, *, started: float, finished: Sequence[TrialResult] = (),
             rerun: Sequence[tuple[str, PlannedTrial]] = (), callbacks: Sequence[Callback] = ()) -> list[TrialResult]:
    """Run trials until done; return every trial record (those given in ``finished`` first).

    ``started`` is the ``time.monotonic()`` at which the budget began; ``rerun`` lists trials cut
    off by an earlier kill, run again first under their own ids.
    """
    state = _LoopState(settings, prepared, scheduler, executor, store, started, list(callbacks))
    state.trials.extend(finished)
    state.next_index = 1 + max((int(t.trial_id[1:]) for t in finished), default=-1)
    state.rerun = list(rerun)
    if rerun:
        state.next_index = max(state.next_index, 1 + max(int(tid[1:]) for tid, _ in rerun))
    try:
        state.run()
    finally:
        for outcome in executor.stop_all("stopped: the search ended"):
            state.finish(outcome)
        executor.close()
    return state.trials


class _LoopState:
    def __init__(self, settings: LoopSettings, prepared: PreparedData, scheduler: Scheduler, executor: Executor,
                 store: RunStore, started: float, callbacks: list[Callback]) -> None:
        self.s, self.prepared, self.scheduler = settings, prepared, scheduler
        self.executor, self.store = executor, store
        self.callbacks = callbacks
        self.started = started
        self.deadline = started + settings.budget_s          # monotonic
        self.reserve = min(1.0, 0.02 * settings.budget_s)    # for selection and saving after the loop
        self.trials: list[TrialResult] = []
        self.planned: dict[str, PlannedTrial] = {}
        self.next_index = 0
        self.rerun: list[tuple[str, PlannedTrial]] = []
        self.stale = 0
        self.best: float | None = None
        self.stopped_by_callback = False

    # ---- the loop ------------------------------------------------------------------------
    def run(self) -> None:
        skips = 0
        if self.deadline - self.reserve - time.monotonic() <= 0 and not self.trials:
            self._force_first()
        while True:
            remaining = self.deadline - self.reserve - time.monotonic()
            launching = remaining > 0 and not self._done()
            while launching and self.executor.free_slots() > 0 and skips < _MAX_SKIPS_IN_A_ROW:
                trial_id, planned = self._next()
                if planned is None:
                    launching = False
                    break
                if self._ok_count() > 0 and planned.estimated_fit_s > 1.5 * remaining:
                    if planned.origin == "sampled":  # the sampler would only offer more: stop launching
                        launching = False
                        break
                    self._skip(trial_id, planned, remaining)  # a planned starting point or promotion left out
                    skips += 1
                    continue
                skips = 0
                self._launch(trial_id, planned, remaining)
            if not self.executor.running():
                if not launching or skips >= _MAX_SKIPS_IN_A_ROW:
                    return
                continue
            for outcome in self.executor.poll(_POLL_S):
                self.finish(outcome)
            if time.monotonic() >= self.deadline - self.reserve / 2:
                for outcome in self.executor.stop_all("stopped at the end of the budget"):
                    self.finish(outcome)
                return

    def _force_first(self) -> None:
        """A budget too small for any trial still gets the cheapest one (the caller warns)."""
        trial_id, planned = self._next()
        if planned is not None:
            planned.extra["forced"] = True
            self._launch(trial_id, planned, max(2.0 * planned.estimated_fit_s, 1.0), forced=True)
            while self.executor.running():
                for outcome in self.executor.poll(_POLL_S):
                    self.finish(outcome)

    def finish(self, outcome: Outcome) -> None:
        record = dict(outcome.record)
        planned = self.planned.pop(outcome.trial_id, None)
        trial = TrialResult.from_json(record)
        if planned is not None:
            trial.extra.update(_planned_extra(planned))
        self.trials.append(trial)
        self.store.put_trial(self.s.run_id, trial)
        self.store.update_run(self.s.run_id, spent_s=time.monotonic() - self.started)
        if planned is not None:
            self.scheduler.tell(planned, trial.dev_metric if trial.ok else None)
        self._track_progress(trial)
        if any(bool(cb.on_trial_end(trial)) for cb in self.callbacks) and not self.stopped_by_callback:
            self.stopped_by_callback = True
            for other in self.executor.stop_all("stopped: a callback ended the search"):
                self.finish(other)

    # ---- helpers -------------------------------------------------------------------------
    def _next(self) -> tuple[str, PlannedTrial | None]:
        if self.rerun:
            return self.rerun.pop(0)
        planned = self.scheduler.next()
        trial_id = f"t{self.next_index:03d}"
        if planned is not None:
            self.next_index += 1
        return trial_id, planned

    def _launch(self, trial_id: str, planned: PlannedTrial, remaining: float, forced: bool = False) -> None:
        now_wall = time.time()
        fit_window = max(0.05, remaining - _MEASURE_RESERVE_S)
        own_limit = max(15.0, self.s.hard_timeout_factor * planned.estimated_fit_s)
        stop_fit_at = now_wall + min(fit_window, own_limit)
        # A trial that ignores its fit deadline (a hang) is killed shortly after it, and never
        # later than the end of the budget.
        kill_at = stop_fit_at + _MEASURE_RESERVE_S + 5.0
        if not forced:
            kill_at = min(kill_at, now_wall + remaining + self.reserve / 2)
        spec = TrialSpec(
            trial_id=trial_id, family=planned.family, params=dict(planned.params),
            data_dir=str(self.prepared.directory), output_dir=str(self.s.run_dir / "trials" / trial_id),
            deadline=stop_fit_at, n_threads=self.s.threads_per_trial, seed=self.s.seed, fidelity=planned.fraction,
            max_epochs=self.s.epochs, dollars_per_core_second=self.s.dollars_per_core_second,
            dollars_per_gpu_second=self.s.dollars_per_gpu_second,
            estimated_fit_s=planned.estimated_fit_s, family_source=family_source(planned.family),
            extra=_planned_extra(planned),
        )
        self.planned[trial_id] = planned
        queued = TrialResult(trial_id=trial_id, family=planned.family, params=dict(planned.params),
                             status="ok", estimated_fit_s=planned.estimated_fit_s, extra=_planned_extra(planned))
        self.store.put_trial(self.s.run_id, queued, status="running")
        for cb in self.callbacks:
            cb.on_trial_start(trial_id, planned)
        self.executor.start(spec, kill_at)

    def _skip(self, trial_id: str, planned: PlannedTrial, remaining: float) -> None:
        trial = TrialResult(trial_id=trial_id, family=planned.family, params=dict(planned.params), status="skipped",
                            error=f"budget: {max(remaining, 0):.1f}s left, estimated {planned.estimated_fit_s:.1f}s",
                            estimated_fit_s=planned.estimated_fit_s, extra=_planned_extra(planned))
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
        if not trial.ok or trial.extra.get("rung_fraction", 1.0) < 1.0:
            self.stale += 1 if trial.status != "skipped" else 0
            return
        assert trial.dev_metric is not None
        noise = metric_noise(self.prepared.schema.task, trial.dev_metric, int(self.prepared.info.get("n_dev", 0)))
        if self.best is None or trial.dev_metric > self.best + noise:
            self.stale = 0
        else:
            self.stale += 1
        self.best = trial.dev_metric if self.best is None else max(self.best, trial.dev_metric)


def _planned_extra(planned: PlannedTrial) -> dict[str, Any]:
    return {"origin": planned.origin, "rung": planned.rung, "rung_fraction": planned.fraction,
            "config_id": planned.config_id, **planned.extra}


