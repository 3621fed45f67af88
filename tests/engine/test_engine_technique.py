"""SinglePointTechnique: failures are results, budgets are kept, callbacks see every trial."""

from __future__ import annotations

import numpy as np
import pytest

from lepton_ai import LeptonModel, SinglePointTechnique
from lepton_ai.engine import Callback
from lepton_ai.errors import ConfigError, NotFittedError, TrialError
from lepton_ai.models.families.linear import LinearFamily
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


def test_all_failing_is_a_trial_error_listing_each_cause(monkeypatch, table):
    monkeypatch.setitem(FAMILIES, "boom", BoomFamily)
    with pytest.raises(TrialError, match=r"no candidate finished training \(2 trial\(s\), none ok\)\. "
                                         r"t000 boom: .*boom: this family always fails; t001 boom: "):
        LeptonModel(budget="5s", families=["boom"], max_trials=2, verbose=0).train(table, label="species")


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


class CostlyLinearFamily(LinearFamily):
    """A linear model that claims to need far more seconds than any test budget."""

    name = "costly-linear"

    def estimate_cost(self, n_rows, n_features):
        cost = super().estimate_cost(n_rows, n_features)
        return type(cost)(fit_seconds=1000.0, predict_ms_per_row=cost.predict_ms_per_row,
                          memory_bytes=cost.memory_bytes)


def test_a_trial_the_budget_cannot_pay_for_runs_alone_with_every_core(monkeypatch, table):
    monkeypatch.setitem(FAMILIES, CostlyLinearFamily.name, CostlyLinearFamily)
    costly = SinglePointTechnique(cores=2, workers=2, budget="4s", families=["costly-linear"], max_trials=3,
                                  refit=False).search(table, label="species")
    ran = [t for t in costly.trials if t.status != "skipped"]  # the rest do not fit what is left
    assert ran and all(t.ok and t.n_threads == 2 for t in ran)
    cheap = SinglePointTechnique(cores=2, workers=2, budget="4s", families=["linear"], max_trials=3,
                                 refit=False).search(table, label="species")
    assert len(cheap.trials) == 3 and all(t.ok and t.n_threads == 1 for t in cheap.trials)


def test_max_trials_holds_when_several_trials_end_in_one_poll(monkeypatch, table):
    from lepton_ai.engine.executor import InlineExecutor

    def two_at_once(self, run_dir):
        executor = InlineExecutor()
        executor.slots = 2  # both pending trials run and come back in the same poll
        return executor

    monkeypatch.setattr(SinglePointTechnique, "_executor", two_at_once)
    result = SinglePointTechnique(budget="10s", families=["linear"], max_trials=3, refit=False).search(
        table, label="species")
    assert len([t for t in result.trials if t.family != "ensemble"]) == 3


def test_too_few_rows_without_a_dev_set_warn_that_dev_is_train(table):
    engine = SinglePointTechnique(budget="10s", families="linear", max_trials=1, refit=False, cluster="inline")
    small = table.iloc[[0, 1, 2, 3, 4, 5, 6, 7]]
    with pytest.warns(UserWarning, match="only 8 training rows and no dev set.*ranked on the rows they trained on"):
        engine.search(small, label="species")


def test_the_engine_keeps_only_the_search_options_given_to_it():
    sp = SinglePointTechnique(cores=1, budget="5s", max_trials=2)
    assert set(sp.search_options) == {"budget", "max_trials"}
    assert sp.search_config.budget.seconds == 5.0 and sp.search_config.patience == 40
    with pytest.raises(ConfigError, match="max_trials must be an int >= 1. Got 0"):
        SinglePointTechnique(max_trials=0)
