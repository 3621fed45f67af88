"""Progress while a search runs: a live view in a terminal, plain log lines elsewhere, nothing when quiet."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ..engine.callbacks import Callback, LogCallback
from ..search.trial import TrialResult

__all__ = ["ProgressView", "progress_callback"]


def progress_callback(verbose: int, dollars_per_second: float, console: Console | None = None) -> Callback | None:
    """The progress a search shows: ``None`` for ``verbose=0``; a live view when stderr (or ``console``)
    is a terminal; otherwise one plain log line per trial."""
    if not verbose:
        return None
    console = console or Console(stderr=True, highlight=False)
    if console.is_terminal or console.is_jupyter:
        return ProgressView(console, dollars_per_second)
    return LogCallback(console.file)


@dataclass
class _Running:
    family: str
    fraction: float
    started: float
    epoch: dict[str, Any] = field(default_factory=dict)


class ProgressView(Callback):
    """A live view of a search: trials done / running / queued, the best dev metric so far, elapsed
    against the budget in seconds and dollars, and an epoch bar per running neural trial.

    ``dollars_per_second`` is what the node costs while searching (``engine.dollars_per_second``).
    The view redraws itself four times a second; :meth:`close` stops it (also called at search end).
    """

    def __init__(self, console: Console, dollars_per_second: float, *, refresh_per_second: float = 4) -> None:
        self.console = console
        self.dollars_per_second = dollars_per_second
        self.refresh_per_second = refresh_per_second
        self.budget_s = 0.0
        self.started = time.monotonic()
        self.running: dict[str, _Running] = {}
        self.n_done = 0
        self.n_failed = 0
        self.n_queued = 0
        self.best: TrialResult | None = None
        self._lock = threading.Lock()
        self._live: Live | None = None

    # ---- callbacks -----------------------------------------------------------------------
    def on_search_start(self, n_candidates: int, budget_s: float) -> None:
        self.budget_s, self.started = budget_s, time.monotonic()
        self._live = Live(self, console=self.console, refresh_per_second=self.refresh_per_second, transient=True,
                          redirect_stdout=False, redirect_stderr=False)
        self._live.start()

    def on_trial_start(self, trial_id: str, planned: Any) -> None:
        with self._lock:
            self.running[trial_id] = _Running(planned.family, float(planned.fraction), time.monotonic())

    def on_queue(self, n_queued: int) -> None:
        self.n_queued = n_queued

    def on_epoch(self, trial_id: str, record: dict[str, Any]) -> None:
        with self._lock:
            if trial_id in self.running:
                self.running[trial_id].epoch = dict(record)

    def on_trial_end(self, trial: TrialResult) -> bool | None:
        with self._lock:
            self.running.pop(trial.trial_id, None)
            self.n_done += 1
            if not trial.ok and trial.status == "failed":
                self.n_failed += 1
            full = trial.rung_fraction >= 1.0
            if trial.ok and full and (self.best is None or (trial.dev_metric or 0.0) > (self.best.dev_metric or 0.0)):
                self.best = trial
        if not trial.ok and self._live is not None:  # a failure stays on screen above the live view
            self.console.print(Text(f"lepton: {trial.trial_id} {trial.family} {trial.status}: {trial.error}",
                                    style="yellow"))
        return None

    def on_search_end(self, trials: list[TrialResult]) -> None:
        self.close()
        elapsed = time.monotonic() - self.started
        best = self._best_text()
        self.console.print(f"lepton: {len(trials)} trials in {elapsed:.1f}s "
                           f"(${elapsed * self.dollars_per_second:.2g}); {best}", highlight=False)

    def close(self) -> None:
        """Stop redrawing (safe to call twice, and after an interrupted search)."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    # ---- drawing -------------------------------------------------------------------------
    def __rich__(self) -> Group:
        now = time.monotonic()
        elapsed = now - self.started
        head = Table.grid(padding=(0, 1))
        head.add_column(style="bold")
        head.add_column(width=30)
        head.add_column()
        budget = max(self.budget_s, 1e-9)
        head.add_row("budget", ProgressBar(total=budget, completed=min(elapsed, budget), width=30),
                     f"{elapsed:.1f} s / {self.budget_s:.0f} s   ${elapsed * self.dollars_per_second:.2g} / "
                     f"${self.budget_s * self.dollars_per_second:.2g}")
        with self._lock:
            running = list(self.running.items())
            counts = (f"{self.n_done} done" + (f" ({self.n_failed} failed)" if self.n_failed else "")
                      + f" · {len(running)} running · {self.n_queued} queued")
        trials = Text.assemble(("trials ", "bold"), counts, "    ", self._best_text())
        rows = Table.grid(padding=(0, 1))
        for _ in range(4):
            rows.add_column()
        for trial_id, run in running:
            rows.add_row(*_running_row(trial_id, run, now))
        return Group(head, trials, rows)

    def _best_text(self) -> str:
        best = self.best
        if best is None or best.dev_metric is None:
            return "best: none yet"
        return f"best {best.metric_name} {best.dev_metric:.4f} ({best.trial_id} {best.family})"


def _running_row(trial_id: str, run: _Running, now: float) -> tuple[Any, ...]:
    label = Text(f"  {trial_id} {run.family:<6} {run.fraction:>4.0%} rows")
    seconds = f"{now - run.started:.1f} s"
    epoch = run.epoch
    if not epoch:
        return label, "", "", seconds
    n_epochs = epoch.get("n_epochs")
    done = int(epoch.get("epoch", 0))
    bar: Any = ProgressBar(total=n_epochs, completed=done, width=24) if n_epochs else ""
    losses = "  ".join(f"{k} {v:.4g}" for k, v in epoch.items()
                       if k not in ("epoch", "n_epochs") and isinstance(v, (int, float)))
    return label, f"epoch {done}/{n_epochs}" if n_epochs else f"epoch {done}", bar, f"{seconds}  {losses}"
