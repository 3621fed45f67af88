"""Refit: the candidates a user may choose are trained again on train + dev within the budget."""

from __future__ import annotations

import numpy as np

from lepton_ai import SinglePointTechnique
from lepton_ai.engine.refit import REFIT_SUFFIX, apply_refit, refit_candidates, refit_params
from lepton_ai.search.trial import TrialResult, trial_id_for


def _trial(index: int, metric: float, p50: float, fraction: float = 1.0, **fields) -> TrialResult:
    return TrialResult(trial_id=trial_id_for(index), index=index, family="gbdt", params={"n_estimators": 500},
                       dev_metric=metric, fit_s=1.0, train_cost_usd=0.001, latency_p50_ms=p50, latency_p99_ms=p50,
                       rows_per_s=1e5, infer_cost_per_million_usd=p50 / 10, size_bytes=1000, rung_fraction=fraction,
                       **fields)


def _refit(fit_length: int | None = None, **fields) -> TrialResult:
    """The record a refit worker returns for trial t000."""
    return TrialResult(trial_id=f"t000{REFIT_SUFFIX}", index=0, family="gbdt", params={"n_estimators": 137},
                       fit_length=fit_length, **fields)


def test_candidates_are_the_full_fidelity_frontier_and_the_best_metric_first():
    trials = [_trial(0, 0.90, 0.01), _trial(1, 0.95, 1.0), _trial(2, 0.99, 5.0, fraction=1 / 3),
              _trial(3, 0.93, 10.0)]  # t003 is dominated by t001
    assert [t.trial_id for t in refit_candidates(trials, limit=4)] == ["t001", "t000"]
    assert [t.trial_id for t in refit_candidates(trials, limit=1)] == ["t001"]


def test_refit_params_fix_the_length_early_stopping_found():
    trial = _trial(0, 0.9, 0.1, fit_length=137)
    assert refit_params(trial)["n_estimators"] == 137


def test_refit_params_of_a_neural_trial_take_the_epoch_of_the_lowest_dev_loss():
    history = [{"epoch": 1, "dev_loss": 0.9}, {"epoch": 2, "dev_loss": 0.4}, {"epoch": 3, "dev_loss": 0.5}]
    trial = TrialResult(trial_id="t001", index=1, family="mlp", params={"epochs": 60}, fit_length=3, history=history)
    assert refit_params(trial)["epochs"] == 2


def _model_dirs(tmp_path, tid):
    (tmp_path / tid).mkdir()
    (tmp_path / tid / "model.txt").write_text("dev-fit")
    (tmp_path / f"{tid}{REFIT_SUFFIX}").mkdir()
    (tmp_path / f"{tid}{REFIT_SUFFIX}" / "model.txt").write_text("refit")


def test_a_finished_refit_replaces_the_model_and_adds_its_cost(tmp_path):
    trial = _trial(0, 0.9, 0.1)
    _model_dirs(tmp_path, "t000")
    record = _refit(137, fit_s=2.0, train_cost_usd=0.002, latency_p50_ms=0.2, latency_p99_ms=0.3, rows_per_s=9e4,
                    infer_cost_per_million_usd=0.02, size_bytes=1200, model_p50_ms=0.05, record_p50_ms=0.1)
    assert apply_refit(trial, record, tmp_path)
    assert (tmp_path / "t000" / "model.txt").read_text() == "refit"
    assert not (tmp_path / f"t000{REFIT_SUFFIX}").exists()
    assert trial.dev_metric == 0.9 and trial.latency_p50_ms == 0.2 and trial.size_bytes == 1200
    assert trial.train_cost_usd == 0.003 and trial.refit_fit_s == 2.0 and trial.refit_params == {"n_estimators": 137}
    assert trial.refitted and trial.refit_error is None
    assert trial.model_p50_ms == 0.05 and trial.record_p50_ms == 0.1


def test_a_refit_cut_short_or_failed_leaves_the_trial_as_it_was(tmp_path):
    trial = _trial(0, 0.9, 0.1)
    _model_dirs(tmp_path, "t000")
    assert not apply_refit(trial, _refit(80, latency_p50_ms=0.2), tmp_path)
    assert (tmp_path / "t000" / "model.txt").read_text() == "dev-fit"
    assert "stopped at 80 of 137" in trial.refit_error and trial.latency_p50_ms == 0.1
    assert not apply_refit(trial, _refit(status="failed", error="boom"), tmp_path)
    assert trial.refit_error == "boom" and not trial.refitted


def test_a_refit_cut_after_most_of_its_length_still_replaces_the_model_and_says_how_far_it_got(tmp_path):
    trial = _trial(0, 0.9, 0.1)
    _model_dirs(tmp_path, "t000")
    assert apply_refit(trial, _refit(100, latency_p50_ms=0.2), tmp_path)  # 100 of 137: past two thirds
    assert (tmp_path / "t000" / "model.txt").read_text() == "refit"
    assert trial.refitted and trial.refit_error is None and trial.extra["refit_reached"] == "100 of 137"


def test_a_search_refits_the_chosen_candidates_on_train_and_dev(table):
    result = SinglePointTechnique(budget="20s", families=["gbdt"], max_trials=3).search(table, label="species")
    refit = [t for t in result.trials if t.refitted]
    assert refit, [t.refit_error for t in result.trials]
    for trial in refit:
        model = result.models[trial.trial_id]
        assert model.booster_.num_trees() // len(result.schema.classes) == trial.fit_length
    data = result.output(SinglePointTechnique()._datasets(table, None, 0, "species", None)[1], refit[0].trial_id)
    assert np.allclose(data.sum(axis=1), 1.0)


def test_refit_off_keeps_every_trial_as_searched(table):
    result = SinglePointTechnique(budget="10s", families=["linear"], max_trials=2, refit=False).search(
        table, label="species")
    assert all(not t.refitted and t.refit_error is None for t in result.trials)
