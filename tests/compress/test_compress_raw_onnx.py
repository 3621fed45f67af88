"""One ONNX graph from raw columns: ONNX Runtime gives what predict gives (|Δ| ≤ 1e-5 in fp32)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from conftest import make_mixed_table, onnx_feeds
from lepton_ai.compress.raw_onnx import raw_onnx
from lepton_ai.compress.variants import make_variants
from lepton_ai.data import load_data
from lepton_ai.engine.result import model_output, to_input
from lepton_ai.errors import ConfigError, NotBuiltError
from lepton_ai.features import TabularPreparer
from lepton_ai.features.labels import encode_labels
from lepton_ai.features.prepared import Prepared
from lepton_ai.models.base import Budget
from lepton_ai.models.derived.ensemble import EnsembleFamily
from lepton_ai.models.families.gbdt import GBDTFamily
from lepton_ai.models.families.linear import LinearFamily
from lepton_ai.models.families.mlp import MLPFamily

TASKS = ["binary", "multiclass", "regression"]


def _table(task: str, seed: int = 0):
    frame = make_mixed_table(260, n_columns=12, seed=seed)
    if task == "multiclass":
        frame["y"] = np.where(frame["num0"].fillna(0) > 0.5, "hi", np.where(frame["city2"] == "rome", "rome", "lo"))
    elif task == "regression":
        frame["y"] = 1000.0 + 40 * frame["num0"].fillna(0) + frame["int1"] + 25 * (frame["city2"] == "oslo")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        data = load_data(frame.iloc[:200], label="y", split=None, drop_duplicates=False)
    test = frame.iloc[200:].drop(columns="y").reset_index(drop=True)
    test.loc[0, "city2"], test.loc[1, "code4"], test.loc[2, "num0"] = "never-seen", None, np.inf
    return data, test


@pytest.fixture(scope="module", params=TASKS)
def trained(request):
    data, test = _table(request.param)
    preparer = TabularPreparer(data.schema).fit(data)
    y = encode_labels(data.y, data.schema)
    task = data.schema.task
    models = {}
    for trial_id, family in (("t1", LinearFamily()), ("t2", GBDTFamily(n_estimators=40, min_child_samples=5)),
                             ("t3", MLPFamily(width=16, depth=2, epochs=4, batch_size=32))):
        prepared = Prepared(X=preparer.transform(data.X, family.view), y=y, task=task,
                            n_classes=len(data.schema.classes))
        models[trial_id] = family.fit(prepared, budget=Budget(seed=0))
    ensemble = EnsembleFamily(members=["t1", "t2", "t3"], weights=[0.5, 0.3, 0.2])
    ensemble.task_, ensemble.n_classes_ = task, models["t1"].n_classes_
    models["t4"] = ensemble
    rows = preparer.transform(data.X, "dense")
    for kind, variant in make_variants(models["t3"], "t3", ["onnx", "onnx-int8", "torch-bf16"], rows).items():
        models[f"t3-{kind}"] = variant
    codes = preparer.transform(data.X, "codes")
    models["t2-fast"] = make_variants(models["t2"], "t2", ["gbdt-fast"], codes)["gbdt-fast"]
    return preparer, models, test


def _expected(preparer, models, trial_id, test):
    rows = to_input(test, preparer.schema)
    model = models[trial_id]
    if isinstance(model, EnsembleFamily):
        return model.combine([model_output(models[m], preparer, rows) for m in model.members])
    return model_output(model, preparer, rows)


@pytest.mark.parametrize("trial_id", ["t1", "t2", "t3", "t4", "t3-onnx", "t3-onnx-int8", "t2-fast"])
def test_onnx_runtime_gives_what_predict_gives(trained, trial_id):
    preparer, models, test = trained
    session = ort.InferenceSession(raw_onnx(preparer, models, trial_id), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, onnx_feeds(test, session))
    expected = _expected(preparer, models, trial_id, test)
    assert got.dtype == np.float32 and got.shape == expected.shape
    scale = 1.0 if preparer.schema.task == "classification" else max(1.0, float(np.abs(expected).max()))
    assert np.abs(got - expected).max() <= 1e-5 * scale


def test_the_metadata_names_task_classes_output_and_every_input(trained):
    preparer, models, _ = trained
    model = onnx.load_model_from_string(raw_onnx(preparer, models, "t2", producer_version="9.9"))
    meta = {p.key: p.value for p in model.metadata_props}
    schema = preparer.schema
    output = "probabilities" if schema.task == "classification" else "values"
    assert meta["lepton.task"] == schema.task and meta["lepton.output"] == output
    assert [o.name for o in model.graph.output] == [output]
    assert json.loads(meta["lepton.classes"]) == [str(c) for c in schema.classes]
    inputs = json.loads(meta["lepton.inputs"])
    assert {i["name"] for i in inputs} == {i.name for i in model.graph.input} == set(schema.feature_names)
    assert {i["type"] for i in inputs if i["kind"] == "categorical"} == {"string"}
    assert model.producer_name == "lepton-ai" and model.producer_version == "9.9"


def test_a_variant_that_predicts_unlike_any_onnx_graph_is_refused_by_trial(trained):
    preparer, models, _ = trained
    with pytest.raises(NotBuiltError, match="t3-torch-bf16"):
        raw_onnx(preparer, models, "t3-torch-bf16")


def test_an_unknown_trial_lists_the_kept_ones(trained):
    preparer, models, _ = trained
    with pytest.raises(ConfigError, match="kept models: t1, t2"):
        raw_onnx(preparer, models, "t99")
