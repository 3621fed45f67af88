"""A small trained table model for the serving tests (trained in-process, about 2 s), and a valid row."""

from __future__ import annotations

import pytest

from conftest import make_table
from lepton_ai import LeptonModel, SinglePointTechnique, save_model


@pytest.fixture(scope="session")
def served_model() -> LeptonModel:
    engine = SinglePointTechnique(budget="10s", families="linear", max_trials=1, cluster="inline")
    return LeptonModel(engine=engine, verbose=0).train(make_table(300), label="species")


@pytest.fixture(scope="session")
def served_dir(served_model, tmp_path_factory):
    return save_model(tmp_path_factory.mktemp("serve") / "iris", served_model)


ROW = {"x1": 0.1, "x2": None, "colour": "red", "flag": True}
