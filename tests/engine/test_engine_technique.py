"""SinglePointTechnique: failures are results, budgets are kept, callbacks see every trial."""

from __future__ import annotations

import numpy as np
import pytest

from lepton_ai import LeptonModel, SinglePointTechnique
from lepton_ai.engine import Callback
from lepton_ai.errors import ConfigError, NotFittedError
from lepton_ai.models.linear import LinearFamily
from lepton_ai.models.registry import FAMILIES


class BoomFamily(LinearFamily):
    name = "boom"

    def fit(self, train, dev=None, *, budget=None):
        raise RuntimeError("boom: this family always fails")


def test_a_failing_family_is_recorded_and_the_search_goes_on(monkeypatch, table):
    monkeypatch.setitem(FAMILIES, "boom", BoomFamily)
    result = SinglePointTechnique(budget="10s", families=["boom", "linear"], max_trials=6).search(
        table, label="species")
    failed = [t for t in result.trials if t.family == "boom"]
    assert failed and all(t.status == "failed" and "boom: this family always fails" in t.error for t in failed)
    assert any(t.ok for t in result.trials if t.family == "linear")
    assert set(result.models) == {t.trial_id for t in result.trials if t.ok}


def test_all_failing_is_a_clear_error(monkeypatch, table):
    monkeypatch.setitem(FAMILIES, "boom", BoomFamily)
    with pytest.raises(ConfigError, match="no candidate finished.*boom"):
        LeptonModel(budget="5s", families=["boom"], max_trials=3, verbose=0).train(table, label="species")


def test_every_measurement_is_recorded(table):
    result = SinglePointTechnique(budget="10s", families=["linear"], max_trials=3).search(table, label="species")
    for t in result.trials:
        assert t.ok
        assert 0 <= t.dev_metric <= 1 and t.fit_s > 0 and t.train_cost_usd > 0
        assert 0 < t.latency_p50_ms <= t.latency_p99_ms
        assert t.rows_per_s > 0 and t.infer_cost_per_million_usd > 0 and t.size_bytes > 0


def test_a_budget_too_small_runs_only_the_cheapest_candidate_with_a_warning(table):
    engine = SinglePointTechnique(budget=0.01, families=["linear", "gbdt", "mlp"])
    with pytest.warns(UserWarning, match="too small for any trial"):
        result = engine.search(table, label="species")
    assert len(result.trials) == 1 and result.trials[0].ok and result.trials[0].family == "linear"


def test_dollar_budget_is_priced_by_the_node(table):
    engine = SinglePointTechnique(cores=1, price_per_core_hour=3.6, budget="$0.01", families=["linear"], max_trials=2)
    assert engine.dollars_per_second == pytest.approx(0.001)
    result = engine.search(table, label="species")
    assert result.budget_s == pytest.approx(10.0)


def test_callbacks_see_each_trial_and_can_stop(table):
    class StopAfterFirst(Callback):
        def __init__(self):
            self.ended = []

        def on_trial_end(self, trial):
            self.ended.append(trial.trial_id)
            return True

    cb = StopAfterFirst()
    result = SinglePointTechnique(budget="10s", families=["linear", "gbdt"], workers=1).search(
        table, label="species", callbacks=[cb])
    assert cb.ended == ["t000"] and len(result.trials) == 1


def test_engine_fit_predict(table):
    sp = SinglePointTechnique(cores=1, budget="10s", families=["linear"], max_trials=3)
    with pytest.raises(NotFittedError):
        sp.predict(table)
    proba = sp.fit(table.rename(columns={"species": "label"})).predict(table.drop(columns="species"))
    assert proba.shape == (len(table), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize("kwargs", [{"cores": 0}, {"price_per_core_hour": -1}, {"families": "linear,nope"},
                                    {"budget": "forever"}])
def test_bad_engine_arguments(kwargs):
    with pytest.raises(ConfigError):
        SinglePointTechnique(**kwargs)


def test_resources_are_detected():
    sp = SinglePointTechnique()
    assert sp.cores >= 1 and sp.resources.memory_bytes > 0 and sp.resources.gpus >= 0
