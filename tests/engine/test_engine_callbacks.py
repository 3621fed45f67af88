import pytest

from lepton_ai import LeptonModel, SinglePointTechnique, load_data
from lepton_ai.engine import Callback


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
