"""Callbacks: hooks the engine calls as a search runs. Override the ``on_*`` methods you need.

The engine calls them through a :class:`CallbackRunner`, so every callback sees every event.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import IO, Any

from ..search.trial import TrialResult

__all__ = ["Callback", "LogCallback", "CallbackRunner"]

logger = logging.getLogger(__name__)


class Callback:
    """Does nothing; subclasses override what they need. ``on_trial_end`` returning True stops the search."""

    def on_search_start(self, n_candidates: int, budget_s: float) -> None:
        return None

    def on_trial_start(self, trial_id: str, planned: Any) -> None:
        """``planned`` has ``family``, ``params`` and ``fraction`` (of the training rows)."""
        return None

    def on_queue(self, n_queued: int) -> None:
        """``n_queued`` planned trials (starting points, promotions) wait for a worker."""
        return None

    def on_epoch(self, trial_id: str, record: dict[str, Any]) -> None:
        """A neural trial finished an epoch: ``record`` has ``epoch``, ``n_epochs`` and metrics such as
        ``train_loss`` and ``dev_loss`` (see ``lepton_ai.models.neural.epochs``). Arrives up to ~0.2 s late."""
        return None

    def on_trial_end(self, trial: TrialResult) -> bool | None:
        return None

    def on_search_end(self, trials: list[TrialResult]) -> None:
        return None


class CallbackRunner:
    """Calls every callback on every event, like LitServe's ``CallbackRunner``.

    A callback that raises is logged (its class, the event and the traceback, on the
    ``lepton_ai.engine.callbacks`` logger) and the others still run: a broken progress display or
    user hook never ends a search. ``on_trial_end`` reports whether any callback asked to stop,
    after all of them have seen the trial.
    """

    def __init__(self, callbacks: Sequence[Callback] = ()) -> None:
        self.callbacks = list(callbacks)

    def on_search_start(self, n_candidates: int, budget_s: float) -> None:
        self._call("on_search_start", n_candidates, budget_s)

    def on_trial_start(self, trial_id: str, planned: Any) -> None:
        self._call("on_trial_start", trial_id, planned)

    def on_queue(self, n_queued: int) -> None:
        self._call("on_queue", n_queued)

    def on_epoch(self, trial_id: str, record: dict[str, Any]) -> None:
        self._call("on_epoch", trial_id, record)

    def on_trial_end(self, trial: TrialResult) -> bool:
        """Every callback sees ``trial``; True when any of them asked to stop the search."""
        return any(self._call("on_trial_end", trial))  # all have answered before any() looks

    def on_search_end(self, trials: list[TrialResult]) -> None:
        self._call("on_search_end", trials)

    def _call(self, event: str, *args: Any) -> list[Any]:
        answers = []
        for callback in self.callbacks:
            try:
                answers.append(getattr(callback, event)(*args))
            except Exception:
                logger.exception("callback %s.%s raised; the search goes on without its answer",
                                 type(callback).__name__, event)
        return answers


class LogCallback(Callback):
    """Plain log lines, one per trial: what ran, how it scored, how long it took."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.best: float | None = None

    def on_search_start(self, n_candidates: int, budget_s: float) -> None:
        print(f"lepton: searching within {budget_s:.0f}s", file=self.stream)

    def on_trial_end(self, trial: TrialResult) -> bool | None:
        if trial.ok:
            assert trial.dev_metric is not None
            self.best = trial.dev_metric if self.best is None else max(self.best, trial.dev_metric)
            rows = trial.rung_fraction
            print(f"lepton: {trial.trial_id} {trial.family:<7} {trial.metric_name}={trial.dev_metric:.4f} "
                  f"rows={rows:.0%} fit={trial.fit_s:.2f}s p50={trial.latency_p50_ms:.3f}ms best={self.best:.4f}",
                  file=self.stream)
        else:
            print(f"lepton: {trial.trial_id} {trial.family:<7} {trial.status}: {trial.error}", file=self.stream)
        return None
