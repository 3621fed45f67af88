import logging

import pytest

from lepton_ai import LeptonModel, SinglePointTechnique, load_data
from lepton_ai.engine import Callback
from lepton_ai.engine.callbacks import CallbackRunner


class Recorder(Callback):
    def __init__(self):
        self.epochs, self.queued, self.started = [], [], []

    def on_trial_start(self, trial_id, planned):
        self.started.append(trial_id)

    def on_epoch(self, trial_id, record):
        self.epochs.append((trial_id, record))

    def on_queue(self, n_queued):
        self.queued.append(n_queued)


def _epochs_of_a_search(cluster):
    from conftest import make_table

    train = load_data(make_table(200), label="species", split=None)
    recorder = Recorder()
    engine = SinglePointTechnique(cluster=cluster, families="mlp", max_trials=1, budget="30s")
    LeptonModel(engine=engine, verbose=0, callbacks=[recorder]).train(train, epochs=3)
    return recorder


def test_neural_trials_report_each_epoch_to_callbacks():
    recorder = _epochs_of_a_search("inline")
    first = recorder.started[0]
    assert [r["epoch"] for t, r in recorder.epochs if t == first] == [1, 2, 3]
    assert all(r["n_epochs"] == 3 and r["train_loss"] > 0 for _, r in recorder.epochs)
    assert recorder.queued and all(n >= 0 for n in recorder.queued)


@pytest.mark.slow
def test_epochs_cross_from_a_forked_worker():
    recorder = _epochs_of_a_search(None)
    first = recorder.started[0]
    assert [r["epoch"] for t, r in recorder.epochs if t == first] == [1, 2, 3]


# ---- CallbackRunner: every callback sees every event; one that raises is logged and isolated ----
class Stopper(Callback):
    """Asks to stop at the first trial that ends."""

    def __init__(self):
        self.ended = []

    def on_trial_end(self, trial):
        self.ended.append(trial.trial_id)
        return True


class Watcher(Callback):
    def __init__(self):
        self.events = []

    def on_search_start(self, n_candidates, budget_s):
        self.events.append("search_start")

    def on_trial_start(self, trial_id, planned):
        self.events.append(f"start {trial_id}")

    def on_trial_end(self, trial):
        self.events.append(f"end {trial.trial_id}")

    def on_search_end(self, trials):
        self.events.append("search_end")


class Broken(Callback):
    """Raises on every event it overrides."""

    def on_search_start(self, n_candidates, budget_s):
        raise RuntimeError("broken display")

    def on_trial_start(self, trial_id, planned):
        raise RuntimeError("broken display")

    def on_queue(self, n_queued):
        raise RuntimeError("broken display")

    def on_trial_end(self, trial):
        raise RuntimeError("broken display")

    def on_search_end(self, trials):
        raise RuntimeError("broken display")


def _trial(trial_id="t000"):
    from lepton_ai.search.trial import TrialResult

    return TrialResult(trial_id=trial_id, index=0, family="linear", params={}, dev_metric=0.9)


def test_every_callback_sees_a_trial_after_one_asked_to_stop():
    stopper, watcher = Stopper(), Watcher()
    runner = CallbackRunner([stopper, watcher])
    assert runner.on_trial_end(_trial()) is True
    assert stopper.ended == ["t000"] and watcher.events == ["end t000"]
    assert CallbackRunner([Watcher(), Watcher()]).on_trial_end(_trial()) is False  # nobody asked


def test_a_raising_callback_is_logged_with_its_name_and_traceback_and_the_rest_still_run(caplog):
    watcher = Watcher()
    runner = CallbackRunner([Broken(), watcher])
    with caplog.at_level(logging.ERROR, logger="lepton_ai.engine.callbacks"):
        assert runner.on_trial_end(_trial()) is False
        runner.on_search_end([])
    assert watcher.events == ["end t000", "search_end"]
    messages = [r.getMessage() for r in caplog.records]
    assert any("Broken.on_trial_end" in m for m in messages) and any("Broken.on_search_end" in m for m in messages)
    assert all(r.exc_info is not None and "broken display" in str(r.exc_info[1]) for r in caplog.records)


def test_in_a_search_the_stop_is_seen_by_all_and_a_broken_callback_breaks_nothing(table, caplog):
    stopper, watcher = Stopper(), Watcher()
    engine = SinglePointTechnique(budget="10s", families=["linear", "gbdt"], workers=1, cluster="inline")
    with caplog.at_level(logging.ERROR, logger="lepton_ai.engine.callbacks"):
        result = engine.search(table, label="species", callbacks=[Broken(), stopper, watcher])
    assert len(result.trials) == 1 and result.trials[0].ok
    assert stopper.ended == ["t000"]
    assert watcher.events == ["search_start", "start t000", "end t000", "search_end"]
    logged = {r.getMessage().split(" raised")[0] for r in caplog.records}
    assert logged == {f"callback Broken.{event}" for event in
                      ("on_search_start", "on_trial_start", "on_queue", "on_trial_end", "on_search_end")}
