"""A saved model shared by the deploy tests: a one-trial linear model on wine, as the store tests make it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sklearn.datasets import load_wine

from lepton_ai import LeptonModel, save_model


@pytest.fixture(scope="session")
def saved_model(tmp_path_factory) -> Path:
    frame = load_wine(as_frame=True).frame
    model = LeptonModel(budget="10s", families="linear", max_trials=1, verbose=0).train(frame, label="target")
    return save_model(tmp_path_factory.mktemp("deploy") / "wine-model", model)
