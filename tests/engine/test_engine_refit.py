"""Refit: the candidates a user may choose are trained again on train + dev within the budget."""

from __future__ import annotations

import numpy as np

from lepton_ai import SinglePointTechnique
from lepton_ai.engine.refit import REFIT_SUFFIX, apply_refit, refit_candidates, refit_params
from lepton_ai.search.trial import TrialResult


def _trial(tid: str, metric: float, p50: float, fraction: float = 1.0, **extra) -> TrialResult:
    return TrialResult(trial_id=tid, family="gbdt", params={"n_estimators": 500}, dev_metric=metric, fit_s=1.0,
                       train_cost_usd=0.001, latency_p50_ms=p50, latency_p99_ms=p50, rows_per_s=1e5,
                       infer_cost_per_million_usd=p50 / 10, size_bytes=1000,
                       extra={"rung_fraction": fraction, **extra})


def test_candidates_are_the_full_fidelity_frontier_and_the_best_metric_first():
    trials = [_trial("t000", 0.90, 0.01), _trial("t001", 0.95, 1.0), _trial("t002", 0.99, 5.0, fraction=1 / 3),
              _trial("t003", 0.93, 10.0)]  # t003 is dominated by t001
    assert [t.trial_id for t in refit_candidates(trials, limit=4)] == ["t001", "t000"]
    assert [t.trial_id for t in refit_candidates(trials, limit=1)] == ["t001"]


def test_refit_params_fix_the_length_early_stopping_found():
    trial = _trial("t000", 0.9, 0.1, n_trees=137)
    assert refit_params(trial)["n_estimators"] == 137


def _model_dirs(tmp_path, tid):
    (tmp_path / tid).mkdir()
    (tmp_path / tid / "model.txt").write_text("dev-fit")
    (tmp_path / f"{tid}{REFIT_SUFFIX}").mkdir()
    (tmp_path / f"{tid}{REFIT_SUFFIX}" / "model.txt").write_text("refit")


def test_a_finished_refit_replaces_the_model_and_adds_its_cost(tmp_path):
    trial = _trial("t000", 0.9, 0.1)
    _model_dirs(tmp_path, "t000")
    record = {"status": "ok", "fit_s": 2.0, "train_cost_usd": 0.002, "latency_p50_ms": 0.2, "latency_p99_ms": 0.3,
              "rows_per_s": 9e4, "infer_cost_per_million_usd": 0.02, "size_bytes": 1200,
              "model_p50_ms": 0.05, "record_p50_ms": 0.1, "params": {"n_estimators": 137}, "extra": {"n_trees": 137}}
    assert apply_refit(trial, record, tmp_path)
    assert (tmp_path / "t000" / "model.txt").read_text() == "refit"
    assert not (tmp_path / f"t000{REFIT_SUFFIX}").exists()
    assert trial.dev_metric == 0.9 and trial.latency_p50_ms == 0.2 and trial.size_bytes == 1200
    assert trial.model_p50_ms == 0.05 and trial.record_p50_ms == 0.1
    assert trial.train_cost_usd == 0.003 and trial.extra["refit"]["fit_s"] == 2.0


def test_a_refit_cut_short_or_failed_leaves_the_trial_as_it_was(tmp_path):
    trial = _trial("t000", 0.9, 0.1)
    _model_dirs(tmp_path, "t000")
    short = {"status": "ok", "latency_p50_ms": 0.2, "params": {"n_estimators": 137}, "extra": {"n_trees": 80}}
    assert not apply_refit(trial, short, tmp_path)
    assert (tmp_path / "t000" / "model.txt").read_text() == "dev-fit"
    assert "stopped at 80 of 137" in trial.extra["refit_error"] and trial.latency_p50_ms == 0.1
    assert not apply_refit(trial, {"status": "failed", "error": "boom"}, tmp_path)
    assert trial.extra["refit_error"] == "boom" and "refit" not in trial.extra


def test_a_search_refits_the_chosen_candidates_on_train_and_dev(table):
    result = SinglePointTechnique(budget="20s", families=["gbdt"], max_trials=3).search(table, label="species")
    refit = [t for t in result.trials if "refit" in t.extra]
    assert refit, [t.extra.get("refit_error") for t in result.trials]
    for trial in refit:
        model = result.models[trial.trial_id]
        assert model.booster_.num_trees() // len(result.schema.classes) == trial.extra["n_trees"]
    data = result.output(SinglePointTechnique()._datasets(table, None, 0, "species", None)[1], refit[0].trial_id)
    assert np.allclose(data.sum(axis=1), 1.0)


def test_refit_off_keeps_every_trial_as_searched(table):
    result = SinglePointTechnique(budget="10s", families=["linear"], max_trials=2, refit=False).search(
        table, label="species")
    assert all("refit" not in t.extra and "refit_error" not in t.extra for t in result.trials)
