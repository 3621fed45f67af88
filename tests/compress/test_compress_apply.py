"""Compression of a search result: variants are measured, join the trials and the frontier, and get saved."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from lepton_ai import LeptonModel, SinglePointTechnique, load_model, save_model
from lepton_ai.cli.main import app
from lepton_ai.compress.apply import compress_result, has_variants
from lepton_ai.features.cache import RawRows, prepare, raw_dev_rows


@pytest.fixture(scope="module")
def trained():
    from conftest import make_table

    frame = make_table(300)
    engine = SinglePointTechnique(budget="20s", families="mlp,gbdt", max_trials=2, cluster="inline")
    model = LeptonModel(engine=engine, verbose=0).train(frame, label="species", epochs=3)
    return model, frame


@pytest.mark.slow
def test_train_compresses_the_frontier_and_variants_are_measured(trained) -> None:
    model, _ = trained
    variants = [t for t in model.result_.trials if t.variant_of]
    assert variants, "train should add the variants of its frontier models"
    for t in variants:
        source = model.result_.trial(t.variant_of)
        assert t.trial_id == f"{source.trial_id}-{t.params['kind']}" and t.ok
        assert t.latency_p50_ms > 0 and t.rows_per_s > 0 and t.size_bytes > 0
        assert t.fit_s >= source.fit_s and abs(t.dev_metric - source.dev_metric) <= 0.1
    board = model.leaderboard()
    assert set(board["trial"]) >= {t.trial_id for t in variants}


@pytest.mark.slow
def test_selecting_a_variant_predicts_through_it_and_saves(trained, tmp_path) -> None:
    model, frame = trained
    variant = next(t for t in model.result_.trials if t.variant_of)
    model.chosen_ = variant.trial_id
    labels = model.predict(frame)
    saved = save_model(tmp_path / "m", model)
    again = load_model(saved)
    assert again.chosen.family == variant.family
    np.testing.assert_array_equal(again.predict(frame), labels)


@pytest.mark.slow
def test_compress_again_adds_nothing_new(trained) -> None:
    model, frame = trained
    result = model.result_
    dataset = model._input(frame)
    dev = {view: prepare(result.preparer, dataset, view) for view in ("dense", "codes")}
    assert compress_result(result, dev, rows=RawRows(result.preparer, raw_dev_rows(dataset))) == []


@pytest.mark.slow
def test_no_time_left_skips_with_a_line(trained) -> None:
    import time

    model, frame = trained
    result = model.result_
    source = next(t.trial_id for t in result.trials if t.family == "gbdt" and t.trial_id in result.models)
    dataset = model._input(frame)
    lines: list[str] = []
    added = compress_result(result, {"codes": prepare(result.preparer, dataset, "codes")},
                            rows=RawRows(result.preparer, raw_dev_rows(dataset)), sources=[source],
                            kinds=["gbdt-fast"], deadline=time.monotonic(), log=lines.append)
    exists = f"{source}-gbdt-fast" in {t.trial_id for t in result.trials}
    assert added == [] and (exists or "no time left" in lines[0])


@pytest.mark.slow
def test_a_variant_that_fails_is_left_out_with_a_line(trained, monkeypatch) -> None:
    import lepton_ai.compress.apply as apply

    model, frame = trained
    result = model.result_
    source = next(t.trial_id for t in result.trials if t.family == "gbdt" and t.trial_id in result.models)
    monkeypatch.setattr(result, "trials", [t for t in result.trials if t.trial_id != f"{source}-gbdt-fast"])

    def broken(*args, **kwargs):
        raise RuntimeError("onnxruntime: bad graph")

    monkeypatch.setattr(apply, "_measured", broken)
    lines: list[str] = []
    dataset = model._input(frame)
    added = compress_result(result, {"codes": prepare(result.preparer, dataset, "codes")},
                            rows=RawRows(result.preparer, raw_dev_rows(dataset)), sources=[source],
                            kinds=["gbdt-fast"], log=lines.append)
    assert added == [] and "RuntimeError: onnxruntime: bad graph; left out" in lines[0]


def test_only_families_with_variants_ask_for_the_compression_slice() -> None:
    assert not has_variants("linear")
    assert has_variants(["linear", "mlp"]) and has_variants(("gbdt",))
    assert has_variants(None)  # every searchable family: the neural ones have variants


def test_cli_compress_adds_variants_to_a_saved_model(tmp_path) -> None:
    from conftest import make_table

    frame = make_table(300)
    engine = SinglePointTechnique(budget="20s", families="mlp", max_trials=1, cluster="inline")
    model = LeptonModel(engine=engine, verbose=0, families="mlp").train(frame, label="species", epochs=3)
    model.result_.trials = [t for t in model.result_.trials if not t.variant_of]  # as if not compressed
    model.select("accuracy")
    saved = save_model(tmp_path / "m", model)
    data = tmp_path / "dev.csv"
    frame.to_csv(data, index=False)
    result = CliRunner().invoke(app, ["compress", str(saved), "--onnx", "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "-onnx " in result.output and "-onnx-int8" in result.output and "torch-bf16" not in result.output
    again = load_model(saved)  # hashes still verify
    assert any(t.family == "onnx" for t in again.result_.trials)
    bad = CliRunner().invoke(app, ["compress", str(saved), "--data", str(tmp_path / "missing.csv")])
    assert bad.exit_code == 2


@pytest.mark.slow
def test_a_fast_tree_variant_copies_in_memory(trained) -> None:
    import copy

    model, frame = trained
    result = model.result_
    trial_id = next(t.trial_id for t in result.trials if t.family == "gbdt-fast")
    variant = result.models[trial_id]
    X = result.preparer.transform(frame.drop(columns="species").iloc[[0]], "codes")
    np.testing.assert_array_equal(copy.deepcopy(variant).predict_proba(X), variant.predict_proba(X))
