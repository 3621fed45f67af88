"""A search on a Parquet table bigger than its memory limit: a sample searched, every row read by the final fit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from conftest import write_parquet_parts
from lepton_ai import LeptonModel
from lepton_ai.data import load_data
from lepton_ai.engine.technique import SinglePointTechnique
from lepton_ai.errors import ConfigError, NotBuiltError

_ROWS = 40_000


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stream") / "events"
    write_parquet_parts(folder, _ROWS, n_files=4)
    return folder


def _quiet_load(folder, memory):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return load_data(folder, memory=memory, split=(0.85, 0.15))


def test_the_final_model_reads_every_row_the_search_did_not_hold_out(big, tmp_path):
    train, test = _quiet_load(big, "6MB")
    assert train.streamed is not None and len(train) < _ROWS / 2
    engine = SinglePointTechnique(memory="6MB", home=tmp_path / "home")
    model = LeptonModel(objective="accuracy", budget="12s", engine=engine, families=["gbdt", "linear"], seed=0,
                        verbose=0)
    with pytest.warns(UserWarning) as caught:
        model.train(train)
    said = " ".join(str(w.message) for w in caught)
    assert "linear left out: they learn from every row in memory" in said
    assert "the final fit of gbdt reads" in said and f"of the table's {_ROWS:,} rows" in said
    chosen = model.chosen
    assert chosen.family in ("gbdt", "gbdt-fast")
    full = chosen if chosen.family == "gbdt" else next(t for t in model.result_.trials
                                                       if t.trial_id == chosen.params["source"])
    # Every row but the test part and what cleaning dropped of the sample.
    assert _ROWS - 2 * len(test) < full.extra["refit_rows"] <= _ROWS - len(test)
    assert {t.family for t in model.result_.trials} <= {"gbdt", "gbdt-fast", "ensemble"}
    assert model.test(test) > 0.8


def test_a_search_of_families_that_all_need_memory_is_refused(big, tmp_path):
    train, _ = _quiet_load(big, "6MB")
    engine = SinglePointTechnique(memory="6MB", home=tmp_path / "home", families=["linear", "mlp"], budget="5s")
    with pytest.raises(ConfigError, match=r"linear, mlp: they learn from every row in memory.*gbdt"):
        engine.search(train)


def test_a_streamed_table_on_a_dask_cluster_is_not_built_yet(big, tmp_path):
    train, _ = _quiet_load(big, "6MB")
    engine = SinglePointTechnique(memory="6MB", home=tmp_path / "home", cluster="tcp://127.0.0.1:9", budget="5s")
    with pytest.raises(NotBuiltError, match="worker processes of this node only"):
        engine.search(train)


def test_memory_is_given_once(tmp_path):
    with pytest.raises(ConfigError, match="memory= or memory_gb="):
        SinglePointTechnique(memory="1GB", memory_gb=1.0)
    with pytest.raises(ConfigError, match="memory= is the engine's"):
        LeptonModel(engine=SinglePointTechnique(), memory="1GB").train(np.zeros((4, 2)))
