"""The trial worker: a neural trial rerun after a kill goes on from the checkpoint of its last epoch."""

from __future__ import annotations

import json
import time
from pathlib import Path

from lepton_ai.data.load import build_dataset
from lepton_ai.data.split import split_dataset
from lepton_ai.engine.worker import CHECKPOINT_DIR, TrialSpec, run_trial
from lepton_ai.features.cache import FeatureCache
from lepton_ai.models.base import Budget
from lepton_ai.models.families.mlp import MLPFamily
from lepton_ai.models.neural.checkpoint import CHECKPOINT_STATE

PARAMS = {"width": 8, "depth": 1, "epochs": 4, "batch_size": 32, "patience": 100}


def test_a_rerun_neural_trial_resumes_from_its_checkpoint_and_then_drops_it(table, tmp_path: Path) -> None:
    train_ds, dev_ds = split_dataset(build_dataset(table, "species"), (0.8, 0.2), 0)
    prepared = FeatureCache(tmp_path / "cache").get_or_prepare(train_ds, dev_ds)
    assert prepared.directory is not None
    train, dev = prepared.views["dense"]
    output = tmp_path / "trials" / "t000"
    checkpoint = output / CHECKPOINT_DIR
    # The first attempt of the trial, killed after its second epoch, left this checkpoint behind.
    killed = MLPFamily(**PARAMS).fit(train, dev, budget=Budget(max_epochs=2, checkpoint_dir=str(checkpoint)))
    assert json.loads((checkpoint / CHECKPOINT_STATE).read_text())["epoch"] == 2

    spec = TrialSpec(trial_id="t000", family="mlp", params=PARAMS, data_dir=str(prepared.directory),
                     output_dir=str(output), deadline=time.time() + 60)
    record = run_trial(spec.to_json())

    assert record["status"] == "ok", record.get("error")
    history = record["extra"]["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert history[:2] == killed.history_
    assert not checkpoint.exists() and (output / "family.json").is_file()
