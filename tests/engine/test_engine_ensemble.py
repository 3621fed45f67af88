"""Ensemble selection: a weighted average of finished candidates joins the frontier when it fits dev better."""

from __future__ import annotations

import numpy as np
import pytest

from lepton_ai import LeptonModel, load_model, save_model
from lepton_ai.engine.ensemble import build_ensemble
from lepton_ai.models.derived.ensemble import EnsembleFamily
from lepton_ai.search.frontier import select_trial
from lepton_ai.search.trial import TrialResult, trial_id_for


def _trial(index: int, metric: float, loss: float | None = None, p50: float = 0.1) -> TrialResult:
    return TrialResult(trial_id=trial_id_for(index), index=index, family="linear", params={}, dev_metric=metric,
                       fit_s=1.0, train_cost_usd=1e-4, latency_p50_ms=p50, latency_p99_ms=2 * p50, rows_per_s=1e4 / p50,
                       infer_cost_per_million_usd=p50, size_bytes=100, dev_loss=loss, model_p50_ms=p50 / 4,
                       model_p99_ms=p50 / 2, record_p50_ms=p50 / 2)


def _noisy_outputs(tmp_path, n=400, k=3, models=3, seed=0):
    """Each model sees the truth plus its own noise: their average is better than any one of them."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    truth = np.eye(k)[y] * 2.0
    trials = []
    for i in range(models):
        logits = truth + rng.normal(scale=1.6, size=(n, k))
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        np.save(tmp_path / f"t00{i}.npy", proba)
        trials.append(_trial(i, float(np.mean(proba.argmax(axis=1) == y)), p50=0.1 * (i + 1)))
    return trials, y


def test_the_average_of_noisy_models_is_kept_with_derived_timings(tmp_path):
    trials, y = _noisy_outputs(tmp_path)
    ensemble = build_ensemble(trials, tmp_path, y, "classification", 9)
    assert ensemble is not None and ensemble.family == "ensemble" and ensemble.trial_id == "t009"
    assert ensemble.dev_metric >= max(t.dev_metric for t in trials)
    members = ensemble.params["members"]
    assert len(members) >= 2 and abs(sum(ensemble.params["weights"]) - 1.0) < 1e-6
    by_id = {t.trial_id: t for t in trials}
    assert ensemble.latency_p50_ms == pytest.approx(sum(by_id[m].latency_p50_ms for m in members))
    assert ensemble.model_p50_ms == pytest.approx(sum(by_id[m].model_p50_ms for m in members))
    assert ensemble.record_p50_ms == pytest.approx(sum(by_id[m].record_p50_ms for m in members))
    assert ensemble.train_cost_usd == pytest.approx(sum(by_id[m].train_cost_usd for m in members))


def test_no_ensemble_from_one_model_or_copies_of_it(tmp_path):
    trials, y = _noisy_outputs(tmp_path, models=1)
    assert build_ensemble(trials, tmp_path, y, "classification", 9) is None
    np.save(tmp_path / "t001.npy", np.load(tmp_path / "t000.npy"))
    copies = [trials[0], _trial(1, trials[0].dev_metric)]
    assert build_ensemble(copies, tmp_path, y, "classification", 9) is None


def test_ensemble_combines_member_outputs_by_weight():
    model = EnsembleFamily(members=["a", "b"], weights=[0.25, 0.75])
    model.task_, model.n_classes_ = "classification", 2
    out = model.combine([np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])])
    np.testing.assert_allclose(out, [[0.25, 0.75]])


def test_accuracy_ties_go_to_the_lower_dev_loss_then_the_faster_model():
    fast, better_fit = _trial(0, 0.9, loss=0.30, p50=0.01), _trial(1, 0.9, loss=0.20, p50=1.0)
    assert select_trial([fast, better_fit], "accuracy").trial_id == "t001"
    assert select_trial([fast, better_fit], "speed").trial_id == "t000"
    no_loss = [_trial(0, 0.9, p50=0.01), _trial(1, 0.9, p50=1.0)]
    assert select_trial(no_loss, "accuracy").trial_id == "t000"


def test_an_ensemble_of_real_trials_predicts_saves_and_loads(tmp_path, table):
    model = LeptonModel(budget="20s", families="linear,gbdt", max_trials=4, verbose=0).train(table, label="species")
    result = model.result_
    members = [t.trial_id for t in result.trials if t.ok and t.family != "ensemble"][:2]
    ensemble = EnsembleFamily(members=members, weights=[0.5, 0.5])
    ensemble.task_, ensemble.n_classes_ = "classification", 3
    record = TrialResult(trial_id="t099", index=99, family="ensemble", params=ensemble.get_params(), dev_metric=2.0,
                         latency_p50_ms=1.0, latency_p99_ms=1.0, rows_per_s=1.0, size_bytes=1,
                         infer_cost_per_million_usd=1.0, dev_loss=0.0)
    result.add_candidate(record, ensemble)
    model.select(objective="accuracy")
    assert model.chosen.trial_id == "t099"
    data = table.drop(columns="species")
    expected = 0.5 * result.output(model._input(data), members[0]) + 0.5 * result.output(model._input(data), members[1])
    np.testing.assert_allclose(model.predict_proba(data), expected)
    loaded = load_model(save_model(tmp_path / "m", model))
    assert loaded.chosen.trial_id == "t099"
    np.testing.assert_allclose(loaded.predict_proba(data), expected)


def test_accuracy_counts_gaps_within_the_dev_noise_as_ties_broken_by_dev_loss():
    lucky, better_fit = _trial(0, 0.900, loss=0.30, p50=0.01), _trial(1, 0.895, loss=0.20, p50=1.0)
    assert select_trial([lucky, better_fit], "accuracy", noise=0.01).trial_id == "t001"
    assert select_trial([lucky, better_fit], "accuracy", noise=0.001).trial_id == "t000"
    assert select_trial([lucky, better_fit], "accuracy").trial_id == "t000"
