"""Compressed variants: each predicts like its source, saves without pickle, and loads back identically."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from lepton_ai.compress.variants import make_variants, variant_kinds
from lepton_ai.errors import ConfigError, NotBuiltError
from lepton_ai.features.prepared import Prepared
from lepton_ai.models.base import Budget
from lepton_ai.models.families.gbdt import GBDTFamily
from lepton_ai.models.families.linear import LinearFamily
from lepton_ai.models.families.mlp import MLPFamily
from lepton_ai.models.registry import load_family, resolve_families


def _data(task: str, n: int = 300, seed: int = 0) -> Prepared:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    if task == "classification":
        y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
        return Prepared(X=X, y=y, task=task, n_classes=3)
    return Prepared(X=X, y=(3 * X[:, 0] - X[:, 1] + 100).astype(np.float64), task=task)


@pytest.fixture(scope="module", params=["classification", "regression"])
def mlp(request):
    data = _data(request.param)
    model = MLPFamily(width=16, depth=2, epochs=5, batch_size=32).fit(data, budget=Budget(seed=0))
    return model, data


def test_neural_variants_predict_like_the_source(mlp) -> None:
    model, data = mlp
    variants = make_variants(model, "t001", variant_kinds(model), data.X)
    assert list(variants) == ["torch-bf16", "torch-int8", "onnx", "onnx-int8"]
    expected = model._raw_predict(data.X)
    scale = 1.0 + np.abs(expected).max()
    tolerance = {"onnx": 1e-5, "onnx-int8": 0.05, "torch-int8": 0.05, "torch-bf16": 0.05}
    for kind, variant in variants.items():
        got = variant._raw_predict(data.X)
        assert got.shape == expected.shape, kind
        assert np.abs(got - expected).max() <= tolerance[kind] * scale, kind
        if data.task == "classification":
            np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-9)
        assert variant.view == "dense" and variant.source_trial == "t001" and variant.source_family == "mlp"


def test_variants_save_without_pickle_and_load_back_identically(mlp, tmp_path) -> None:
    model, data = mlp
    for kind, variant in make_variants(model, "t001", variant_kinds(model), data.X).items():
        files = variant.save(tmp_path / kind)
        assert {p.suffix for p in files} <= {".json", ".safetensors", ".onnx"}, kind
        loaded = load_family(tmp_path / kind)
        np.testing.assert_array_equal(loaded._raw_predict(data.X), variant._raw_predict(data.X), err_msg=kind)
        assert json.loads((tmp_path / kind / "family.json").read_text())["params"]["source_trial"] == "t001"


def test_every_variant_pickles_for_joblib_users_and_predicts_the_same(mlp) -> None:
    # A fitted LeptonAI whose chosen model is a variant is pickled by joblib.dump and by
    # scikit-learn's own checks: the ONNX Runtime session is rebuilt, torch modules are importable.
    import pickle
    import subprocess
    import sys

    model, data = mlp
    for kind, variant in make_variants(model, "t001", variant_kinds(model), data.X).items():
        again = pickle.loads(pickle.dumps(variant))
        np.testing.assert_array_equal(again._raw_predict(data.X), variant._raw_predict(data.X), err_msg=kind)
    # In a fresh process, before anything was exported there.
    onnx_variant = make_variants(model, "t001", ("onnx",), data.X)["onnx"]
    code = "import pickle, sys, numpy as np; m = pickle.loads(sys.stdin.buffer.read()); print(m._raw_predict(" \
           "np.zeros((2, 6), np.float32)).shape)"
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(onnx_variant), capture_output=True,
                         check=True)
    assert out.stdout.strip() == (b"(2, 3)" if data.task == "classification" else b"(2,)")


def test_onnx_files_are_self_contained_and_int8_is_smaller(mlp, tmp_path) -> None:
    _, data = mlp
    # Wide enough that int8 weights outweigh the quantisation nodes the graph gains.
    model = MLPFamily(width=128, depth=2, epochs=1, batch_size=64).fit(data, budget=Budget(seed=0))
    variants = make_variants(model, "t001", ["onnx", "onnx-int8"], data.X)
    sizes = {}
    for kind, variant in variants.items():
        variant.save(tmp_path / kind)
        assert sorted(p.name for p in (tmp_path / kind).iterdir()) == ["family.json", "model.onnx"]
        proto = onnx.load(str(tmp_path / kind / "model.onnx"))
        assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
        sizes[kind] = (tmp_path / kind / "model.onnx").stat().st_size
    assert sizes["onnx-int8"] < sizes["onnx"]


def test_gbdt_fast_path_predicts_exactly_like_lightgbm(tmp_path) -> None:
    for task in ("classification", "regression"):
        data = _data(task)
        model = GBDTFamily(n_estimators=20, num_leaves=7).fit(data, budget=Budget(seed=0))
        fast = make_variants(model, "t002", variant_kinds(model), data.X)["gbdt-fast"]
        for i in range(5):
            np.testing.assert_allclose(fast._raw_predict(data.X[i : i + 1]), model._raw_predict(data.X[i : i + 1]),
                                       rtol=1e-12)
        np.testing.assert_array_equal(fast._raw_predict(data.X), model._raw_predict(data.X))
        fast.save(tmp_path / task)
        again = load_family(tmp_path / task, "gbdt-fast")
        np.testing.assert_array_equal(again._raw_predict(data.X[:1]), fast._raw_predict(data.X[:1]))
    binary = Prepared(X=data.X, y=(data.X[:, 0] > 0).astype(np.int64), task="classification", n_classes=2)
    model = GBDTFamily(n_estimators=10, num_leaves=4).fit(binary, budget=Budget(seed=0))
    fast = make_variants(model, "t003", ["gbdt-fast"], binary.X)["gbdt-fast"]
    np.testing.assert_allclose(fast._raw_predict(binary.X[:1]), model._raw_predict(binary.X[:1]), rtol=1e-12)


def test_which_kinds_apply_and_unknown_kinds_are_refused() -> None:
    assert variant_kinds(LinearFamily) == []
    assert variant_kinds(GBDTFamily) == ["gbdt-fast"]
    assert variant_kinds(MLPFamily, ["onnx", "gbdt-fast"]) == ["onnx"]
    with pytest.raises(ConfigError, match=r"kind\(s\) fp8"):
        variant_kinds(MLPFamily, ["fp8"])
    with pytest.raises(NotBuiltError, match="only neural families"):
        LinearFamily().export_module()


def test_variants_are_loadable_but_never_searched_or_trained(mlp) -> None:
    assert "onnx" not in resolve_families(None)
    with pytest.raises(ConfigError, match="compressed variant"):
        resolve_families("gbdt,onnx-int8")
    model, data = mlp
    variant = make_variants(model, "t001", ["onnx"], data.X)["onnx"]
    with pytest.raises(ConfigError, match="cannot be trained"):
        variant.fit(data)
