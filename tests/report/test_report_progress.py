import io
from types import SimpleNamespace

from rich.console import Console

from lepton_ai.engine.callbacks import LogCallback
from lepton_ai.report.progress import ProgressView, progress_callback
from lepton_ai.search.trial import TrialResult, trial_id_for


def _terminal() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=120, record=True)


def _trial(index, metric, status="ok", error=None):
    return TrialResult(trial_id=trial_id_for(index), index=index, family="mlp", params={}, status=status,
                       dev_metric=metric, error=error, fit_s=0.1, latency_p50_ms=0.01)


def test_verbose_picks_live_view_plain_lines_or_nothing():
    assert progress_callback(0, 1e-5, _terminal()) is None
    assert isinstance(progress_callback(1, 1e-5, _terminal()), ProgressView)
    plain = Console(file=io.StringIO(), force_terminal=False)
    assert isinstance(progress_callback(1, 1e-5, plain), LogCallback)


def test_live_view_shows_counts_best_budget_and_epoch_bars():
    console = _terminal()
    view = ProgressView(console, dollars_per_second=0.001)
    view.on_search_start(0, 60.0)
    try:
        for trial_id in ("t000", "t001", "t002"):
            view.on_trial_start(trial_id, SimpleNamespace(family="mlp", fraction=1.0))
        view.on_queue(4)
        view.on_epoch("t001", {"epoch": 3, "n_epochs": 10, "train_loss": 0.5, "dev_loss": 0.25})
        view.on_trial_end(_trial(0, 0.91))
        view.on_trial_end(_trial(2, None, "failed", "ValueError: [bad] <x>"))
        screen = _terminal()  # a still picture of the view, apart from its live redraws
        screen.print(view)
    finally:
        view.close()
    text = screen.export_text()
    assert "2 done (1 failed) · 1 running · 4 queued" in text
    assert "best accuracy 0.9100 (t000 mlp)" in text
    assert "epoch 3/10" in text and "dev_loss 0.25" in text and "t001 mlp" in text
    assert "/ 60 s" in text and "$0.06" in text
    assert "ValueError: [bad] <x>" in console.export_text()  # printed above the view as text, brackets kept


def test_search_end_stops_the_view_and_prints_a_summary():
    console = _terminal()
    view = ProgressView(console, dollars_per_second=0.0)
    view.on_search_start(0, 10.0)
    view.on_trial_start("t000", SimpleNamespace(family="linear", fraction=1.0))
    view.on_trial_end(_trial(0, 0.8))
    view.on_search_end([_trial(0, 0.8)])
    assert view._live is None
    assert "lepton: 1 trials in" in console.export_text()
    view.close()  # twice is fine
