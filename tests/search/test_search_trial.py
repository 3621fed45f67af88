"""The trial record: one type, JSON round trips, and records written before its typed fields still load."""

from __future__ import annotations

import json

import pytest

from lepton_ai.errors import ArtifactError
from lepton_ai.search.trial import TrialResult, trial_id_for


def _old_layout() -> dict:
    """A record as lepton-ai wrote it before ``index`` and the typed fields: everything in ``extra``."""
    return {
        "trial_id": "t012", "family": "gbdt", "params": {"n_estimators": 300}, "status": "ok", "error": None,
        "metric_name": "accuracy", "dev_metric": 0.93, "fit_s": 1.5, "train_cost_usd": 1e-5, "latency_p50_ms": 0.1,
        "latency_p99_ms": 0.2, "rows_per_s": 1e5, "infer_cost_per_million_usd": 0.01, "size_bytes": 2048,
        "peak_memory_bytes": 10**8, "estimated_fit_s": 1.0, "n_threads": 2,
        "extra": {"fidelity": 1.0, "origin": "promoted", "rung": 2, "rung_fraction": 1.0, "config_id": "o7",
                  "forced": True, "dev_loss": 0.21, "n_trees": 137, "converged": None,
                  "history": [{"epoch": 1, "dev_loss": 0.3}], "traceback": "Traceback ...",
                  "refit": {"fit_s": 2.5, "params": {"n_estimators": 137}}, "refit_error": None,
                  "variant_of": None, "timings": "a free-form note"},
    }


def test_an_old_record_maps_the_keys_it_kept_in_extra_to_fields() -> None:
    trial = TrialResult.from_json(_old_layout())
    assert trial.index == 12 and trial.trial_id == "t012"
    assert (trial.origin, trial.rung, trial.rung_fraction, trial.config_id, trial.forced) == \
        ("promoted", 2, 1.0, "o7", True)
    assert (trial.dev_loss, trial.fit_length, trial.traceback) == (0.21, 137, "Traceback ...")
    assert trial.history == [{"epoch": 1, "dev_loss": 0.3}]
    assert trial.refitted and trial.refit_fit_s == 2.5 and trial.refit_params == {"n_estimators": 137}
    assert trial.extra == {"timings": "a free-form note"}  # only what nothing reads stays free-form


def test_an_old_neural_record_keeps_its_epochs_and_an_old_variant_its_source() -> None:
    neural = {"trial_id": "t003", "family": "mlp", "params": {}, "extra": {"epochs_run": 20, "rung_fraction": 0.25}}
    trial = TrialResult.from_json(neural)
    assert (trial.index, trial.fit_length, trial.rung_fraction, trial.refitted) == (3, 20, 0.25, False)
    variant = {"trial_id": "t003-onnx", "family": "onnx", "params": {"source": "t003", "kind": "onnx"},
               "extra": {"variant_of": "t003", "variant": "onnx", "rung_fraction": 1.0}}
    trial = TrialResult.from_json(variant)
    assert (trial.index, trial.variant_of, trial.extra) == (3, "t003", {"variant": "onnx"})


def test_a_record_without_an_index_or_a_readable_id_is_an_artifact_error() -> None:
    with pytest.raises(ArtifactError, match="'mine'.*no 'index'"):
        TrialResult.from_json({"trial_id": "mine", "family": "gbdt", "params": {}})


def test_a_record_round_trips_through_json_and_ignores_unknown_keys() -> None:
    trial = TrialResult(trial_id=trial_id_for(4), index=4, family="mlp", params={"epochs": 3}, dev_metric=0.8,
                        rung=1, rung_fraction=0.5, origin="sampled", config_id="o2", dev_loss=0.4, fit_length=3,
                        history=[{"epoch": e, "dev_loss": 0.5} for e in (1, 2, 3)], refit_error="budget")
    data = json.loads(json.dumps(trial.to_json()))
    assert TrialResult.from_json(data) == trial
    assert TrialResult.from_json({**data, "from_a_newer_version": 1}) == trial
    assert trial.trial_id == "t004" and trial_id_for(1234) == "t1234"


def test_a_record_with_an_unknown_class_weight_is_refused():
    import pytest

    from lepton_ai.errors import ArtifactError
    from lepton_ai.search.trial import TrialResult

    good = TrialResult(trial_id="t001", index=1, family="linear", params={}, class_weight="balanced")
    assert TrialResult.from_json(good.to_json()).class_weight == "balanced"
    with pytest.raises(ArtifactError, match="class_weight 'heavy'"):
        TrialResult.from_json({**good.to_json(), "class_weight": "heavy"})
