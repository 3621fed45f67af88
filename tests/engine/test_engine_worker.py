"""The trial worker: a neural trial rerun after a kill goes on from the checkpoint of its last epoch."""

from __future__ import annotations

import json
import time
from pathlib import Path

from lepton_ai.data.load import build_dataset
from lepton_ai.data.split import split_dataset
from lepton_ai.engine.folds import early_stopping_split
from lepton_ai.engine.worker import CHECKPOINT_DIR, TrialSpec, run_trial
from lepton_ai.features.cache import FeatureCache
from lepton_ai.models.base import Budget
from lepton_ai.models.families.mlp import MLPFamily
from lepton_ai.models.neural.checkpoint import CHECKPOINT_STATE
from lepton_ai.search.trial import TrialResult

PARAMS = {"width": 8, "depth": 1, "epochs": 4, "batch_size": 32, "patience": 100}


def test_a_rerun_neural_trial_resumes_from_its_checkpoint_and_then_drops_it(table, tmp_path: Path) -> None:
    train_ds, dev_ds = split_dataset(build_dataset(table, "species"), (0.8, 0.2), 0)
    prepared = FeatureCache(tmp_path / "cache").get_or_prepare(train_ds, dev_ds)
    assert prepared.directory is not None
    train, dev = prepared.views["dense"]
    output = tmp_path / "trials" / "t000"
    checkpoint = output / CHECKPOINT_DIR
    # The first attempt of the trial, killed after its second epoch, left this checkpoint behind
    # (it fitted on what the trial fits on: train less its early-stopping rows).
    fit_on, stop_on = early_stopping_split("mlp", train, dev, seed=0)
    killed = MLPFamily(**PARAMS).fit(fit_on, stop_on, budget=Budget(max_epochs=2, checkpoint_dir=str(checkpoint)))
    assert json.loads((checkpoint / CHECKPOINT_STATE).read_text())["epoch"] == 2

    epochs = tmp_path / "epochs" / "t000.jsonl"
    epochs.parent.mkdir()
    spec = TrialSpec(trial_id="t000", index=0, family="mlp", params=PARAMS, data_dir=str(prepared.directory),
                     output_dir=str(output), deadline=time.time() + 60, epoch_log=str(epochs))
    trial = TrialResult.from_json(run_trial(spec.to_json()))

    assert trial.status == "ok", trial.error
    assert [h["epoch"] for h in trial.history] == [1, 2, 3, 4] and trial.fit_length == 4
    assert trial.history[:2] == killed.history_
    assert not checkpoint.exists() and (output / "family.json").is_file()
    # Only the epochs this attempt ran reach the trial's epoch file (named by the spec, not the environment).
    assert [json.loads(line)["epoch"] for line in epochs.read_text().splitlines()] == [3, 4]


def test_the_worker_returns_one_trial_record_with_the_fit_report(table, tmp_path: Path) -> None:
    train_ds, dev_ds = split_dataset(build_dataset(table, "species"), (0.8, 0.2), 0)
    prepared = FeatureCache(tmp_path / "cache").get_or_prepare(train_ds, dev_ds)
    spec = TrialSpec(trial_id="t007", index=7, family="gbdt", params={"n_estimators": 20},
                     data_dir=str(prepared.directory), output_dir=str(tmp_path / "trials" / "t007"),
                     deadline=time.time() + 60, fidelity=0.5)
    record = run_trial(spec.to_json())

    trial = TrialResult.from_json(record)
    assert trial.to_json() == record  # nothing is lost crossing the process boundary
    assert (trial.trial_id, trial.index, trial.status, trial.rung_fraction) == ("t007", 7, "ok", 0.5)
    assert 1 <= trial.fit_length <= 20 and trial.dev_loss is not None and trial.history == []
    assert trial.extra == {}


def test_a_failing_trial_is_a_failed_record_with_its_traceback(table, tmp_path: Path) -> None:
    train_ds, dev_ds = split_dataset(build_dataset(table, "species"), (0.8, 0.2), 0)
    prepared = FeatureCache(tmp_path / "cache").get_or_prepare(train_ds, dev_ds)
    spec = TrialSpec(trial_id="t001", index=1, family="linear", params={"C": -1.0},
                     data_dir=str(prepared.directory), output_dir=str(tmp_path / "t001"), deadline=time.time() + 60)
    trial = TrialResult.from_json(run_trial(spec.to_json()))
    assert trial.status == "failed" and "'C'" in (trial.error or "")
    assert "ConfigError" in (trial.traceback or "") and trial.fit_s is not None


def test_a_fit_its_deadline_cut_before_it_beat_the_majority_class_fails_with_that_cause(table, tmp_path: Path) -> None:
    train_ds, dev_ds = split_dataset(build_dataset(table, "species"), (0.8, 0.2), 0)
    prepared = FeatureCache(tmp_path / "cache").get_or_prepare(train_ds, dev_ds)
    common = {"family": "gbdt", "params": {"n_estimators": 200, "learning_rate": 0.001},
              "data_dir": str(prepared.directory)}
    cut = TrialResult.from_json(run_trial(TrialSpec(
        trial_id="t000", index=0, output_dir=str(tmp_path / "t000"), deadline=time.time() - 1, **common).to_json()))
    assert cut.status == "failed" and "cut at its deadline after 1 rounds, before it learned anything" in cut.error
    assert "the majority class's" in cut.error
    # The same fit with time to learn is an ordinary trial.
    whole = TrialResult.from_json(run_trial(TrialSpec(
        trial_id="t001", index=1, output_dir=str(tmp_path / "t001"), deadline=time.time() + 60,
        **{**common, "params": {"n_estimators": 50}}).to_json()))
    assert whole.status == "ok", whole.error


def test_a_balanced_trial_and_its_refit_weigh_the_classes_alike(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    from lepton_ai.models.registry import load_family

    rng = np.random.default_rng(2)
    x = rng.normal(size=(600, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(
        label=np.where(x[:, 0] + rng.normal(scale=1.0, size=600) > 1.8, "y", "n"))
    train_ds, dev_ds = split_dataset(build_dataset(frame, "label"), (0.8, 0.2), 0)
    prepared = FeatureCache(tmp_path / "cache").get_or_prepare(train_ds, dev_ds)
    minority = {}
    for refit in (False, True):
        for weighting in (None, "balanced"):
            trial_id = f"t{int(refit)}{weighting or 'plain'}"
            spec = TrialSpec(trial_id=trial_id, index=0, family="linear", params={"C": 1.0}, refit=refit,
                             data_dir=str(prepared.directory), output_dir=str(tmp_path / "trials" / trial_id),
                             deadline=time.time() + 60, class_weight=weighting)
            trial = TrialResult.from_json(run_trial(spec.to_json()))
            assert trial.status == "ok" and trial.class_weight == weighting, trial.error
            model = load_family(tmp_path / "trials" / trial_id)
            minority[(refit, weighting)] = float(model.output(np.asarray(prepared.views["dense"][1].X))[:, 1].mean())
    for refit in (False, True):
        assert minority[(refit, "balanced")] > 2 * minority[(refit, None)]
    regression = TrialSpec(trial_id="t9", index=9, family="linear", params={}, data_dir=str(prepared.directory),
                           output_dir=str(tmp_path / "trials" / "t9"), deadline=time.time() + 60,
                           class_weight="heavy")
    record = run_trial(regression.to_json())
    assert record["status"] == "failed" and "class_weight must be None or 'balanced'" in record["error"]
