"""The plan as ONNX nodes: raw columns give the features the inference plan gives, bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
from onnx import helper

from conftest import make_mixed_table, onnx_feeds
from lepton_ai.compress.plan_graph import GraphBuilder, plan_inputs, view_nodes
from lepton_ai.compress.raw_onnx import IR_VERSION, OPSETS
from lepton_ai.data import load_data
from lepton_ai.errors import NotBuiltError
from lepton_ai.features import TabularPreparer


def _fitted(frame: pd.DataFrame) -> tuple[TabularPreparer, pd.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        data = load_data(frame.iloc[:100], label="y", split=None, drop_duplicates=False)
    test = frame.iloc[100:].drop(columns="y").reset_index(drop=True)
    kinds = {c.name: c.kind for c in data.schema.columns}
    for name, kind in kinds.items():
        if kind == "categorical":
            test.loc[0, name] = "never-seen"
            test.loc[1, name] = None
        if kind == "numeric" and test[name].dtype.kind == "f":
            test.loc[2, name] = np.inf
            test.loc[3, name] = -np.inf
            test.loc[4, name] = np.nan
    return TabularPreparer(data.schema).fit(data), test


def _view_session(preparer: TabularPreparer, view: str) -> ort.InferenceSession:
    builder = GraphBuilder()
    out = view_nodes(preparer.plan(), view, builder, plan_inputs(preparer.plan(), builder))
    graph = helper.make_graph(builder.nodes, "view", builder.inputs,
                              [helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, ["n", None])],
                              initializer=builder.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in OPSETS.items()],
                              ir_version=IR_VERSION)
    onnx.checker.check_model(model, full_check=True)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("n_columns", [12, 130])
@pytest.mark.parametrize("view", ["dense", "codes"])
def test_the_graph_makes_the_plans_features_bit_for_bit(view, n_columns):
    preparer, test = _fitted(make_mixed_table(160, n_columns=n_columns, seed=n_columns))
    session = _view_session(preparer, view)
    got = session.run(None, onnx_feeds(test, session))[0]
    expected = preparer.transform(test, view)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_every_feature_column_is_one_input_in_schema_kinds():
    preparer, _ = _fitted(make_mixed_table(160, seed=3))
    session = _view_session(preparer, "dense")
    kinds = {c.name: c.kind for c in preparer.schema.columns}
    types = {i.name: i.type for i in session.get_inputs()}
    assert set(types) == set(preparer.schema.feature_names)
    for name, kind in kinds.items():
        assert types[name] == ("tensor(string)" if kind == "categorical" else "tensor(double)"), name
    assert all(i.shape[1] == 1 for i in session.get_inputs())


def test_free_text_columns_are_refused_by_name():
    preparer, _ = _fitted(make_mixed_table(160, seed=4, text=True))
    with pytest.raises(NotBuiltError, match="free-text columns \\(review\\)"):
        plan_inputs(preparer.plan(), GraphBuilder())


def test_image_rows_are_refused():
    rng = np.random.default_rng(0)
    data = load_data((rng.random((40, 4, 4)).astype(np.float32), rng.integers(0, 2, 40)), split=None,
                     modality="image")
    preparer = TabularPreparer(data.schema).fit(data)
    with pytest.raises(NotBuiltError, match="built for tables"):
        plan_inputs(preparer.plan(), GraphBuilder())
