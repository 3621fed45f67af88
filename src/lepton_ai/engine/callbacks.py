"""Callbacks: hooks the engine calls as a search runs. Override the ``on_*`` methods you need."""

from __future__ import annotations

import sys
from typing import IO, Any

from ..search.trial import TrialResult

__all__ = ["Callback", "LogCallback"]


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
