"""One ONNX graph from raw columns to probabilities or values: ``lepton export MODEL --onnx FILE``.

The graph is the inference plan (compress/plan_graph.py) followed by the model: linear weights as a
``MatMul`` in float64 (as the family predicts), LightGBM through onnxmltools' converter, neural
networks through the ONNX export compression already uses, an ensemble as the weighted sum of its
members' graphs. Its output is ``probabilities`` (float32 ``(n, n_classes)``, columns in the order
of ``classes`` in the metadata) or ``values`` (float32 ``(n,)``), what ``predict_proba`` and
``predict`` compute; the metadata (``lepton.*`` keys) names the task, classes and every input.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ConfigError, NotBuiltError
from ..features.tabular import TabularPreparer
from ..models.base import ModelFamily
from ..models.derived.ensemble import EnsembleFamily
from ..models.derived.onnx import OnnxFamily
from .plan_graph import ML_DOMAIN, GraphBuilder, plan_inputs, view_nodes

__all__ = ["raw_onnx", "OPSETS", "IR_VERSION"]

# ai.onnx 17 (LayerNormalization, in the MLP) and ai.onnx.ml 3; IR 8 loads in ONNX Runtime 1.12 and later.
OPSETS = {"": 17, ML_DOMAIN: 3}
IR_VERSION = 8
_FLOAT, _DOUBLE = 1, 11  # onnx.TensorProto.FLOAT, .DOUBLE


def raw_onnx(preparer: TabularPreparer, models: Mapping[str, ModelFamily], trial_id: str, *,
             producer_version: str = "", threshold: float | None = None) -> bytes:
    """The serialised graph of the model of ``trial_id`` (``models`` holds it and, for an ensemble,
    its members), from the raw columns ``preparer`` reads; ``threshold`` (its tuned decision
    threshold) goes into the metadata as ``lepton.threshold``."""
    import onnx
    from onnx import TensorProto, helper

    if trial_id not in models:
        raise ConfigError(f"the model of trial {trial_id!r} was not kept; kept models: {', '.join(models)}.")
    plan = preparer.plan()
    schema = preparer.schema
    builder = GraphBuilder()
    inputs = plan_inputs(plan, builder)
    views: dict[str, str] = {}

    def features(view: str) -> str:
        if view not in views:
            views[view] = view_nodes(plan, view, builder, inputs)
        return views[view]

    out = _model_nodes(models, trial_id, builder, features)
    classification = schema.task == "classification"
    name = "probabilities" if classification else "values"
    builder.nodes.append(helper.make_node("Cast", [out], [name], to=TensorProto.FLOAT))
    shape: list[Any] = ["n", len(schema.classes)] if classification else ["n"]
    graph = helper.make_graph(builder.nodes, "lepton", builder.inputs,
                              [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)],
                              initializer=builder.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in OPSETS.items()],
                              ir_version=IR_VERSION, producer_name="lepton-ai", producer_version=producer_version)
    kinds = {c.name: c.kind for c in schema.columns}
    metadata = {
        "lepton.task": schema.task, "lepton.trial": trial_id, "lepton.output": name,
        "lepton.classes": json.dumps([str(c) for c in schema.classes]),
        "lepton.inputs": json.dumps([{"name": column, "kind": kinds.get(column, "numeric"),
                                      "type": "string" if kinds.get(column) == "categorical" else "double"}
                                     for column in inputs]),
    }
    if threshold is not None:  # predict the second class where its probability reaches this
        metadata["lepton.threshold"] = repr(float(threshold))
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def _model_nodes(models: Mapping[str, ModelFamily], trial_id: str, builder: GraphBuilder, features: Any) -> str:
    """Nodes of one model from its view's features; returns the name of its float output (probabilities
    ``(n, k)`` or values ``(n,)``)."""
    model = models[trial_id]
    if isinstance(model, EnsembleFamily):
        total = None
        for member, weight in zip(model.members, model.weights, strict=True):
            part = _model_nodes(models, member, builder, features)
            part = builder.op("Mul", builder.op("Cast", part, to=_FLOAT), builder.const(np.float32(weight), "weight"))
            total = part if total is None else builder.op("Add", total, part)
        assert total is not None
        return total
    family = model.name
    source = getattr(model, "source_", None)
    if family == "gbdt-fast" and source is not None:  # the same trees through another prediction path
        model, family = source, source.name
    if family == "linear":
        return _linear(model, builder, features(model.view))
    if family == "gbdt":
        return _gbdt(model, builder, features(model.view), trial_id)
    if isinstance(model, OnnxFamily):  # fp32 or int8: the graph the variant itself runs

        graph = _at_opset(model.onnx_bytes_)
        return _regression_flat(model, builder, builder.include(graph, features(model.view), f"{trial_id}/")[0])
    try:
        module = model.export_module()
    except NotBuiltError:
        module = None
    if module is None or getattr(model, "kind", None) is not None:
        raise NotBuiltError(f"trial {trial_id} ({family}): ONNX export from raw columns is built for the linear, "
                            "gbdt and neural families, their ensembles and their onnx/gbdt-fast variants; export "
                            "another trial with --trial (lepton-ai's leaderboard lists them).")
    from .onnx_export import export_onnx

    graph = _at_opset(export_onnx(module, model.n_features_))
    return _regression_flat(model, builder, builder.include(graph, features(model.view), f"{trial_id}/")[0])


def _linear(model: Any, builder: GraphBuilder, features: str) -> str:
    x = builder.op("Cast", features, to=_DOUBLE)  # float64, as LinearFamily predicts
    z = builder.op("Add", builder.op("MatMul", x, builder.const(model.coef_.astype(np.float64), "coef")),
                   builder.const(model.intercept_.astype(np.float64), "intercept"))
    if model.task_ == "regression":
        return _regression_flat(model, builder, z)
    if model.coef_.shape[1] == 1:  # binary: one logit
        p1 = builder.op("Sigmoid", z)
        return builder.op("Concat", builder.op("Sub", builder.const(np.ones((1, 1)), "one"), p1), p1, axis=1)
    return builder.op("Softmax", z, axis=1)


def _gbdt(model: Any, builder: GraphBuilder, features: str, trial_id: str) -> str:
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    booster = model.booster_
    converted = convert_lightgbm(booster, initial_types=[("features", FloatTensorType([None, booster.num_feature()]))],
                                 zipmap=False, target_opset=15)
    graph = _at_opset(converted.SerializeToString())
    outputs = builder.include(graph, features, f"{trial_id}/")  # classes: (label, probabilities)
    return _regression_flat(model, builder, outputs[-1])


def _regression_flat(model: Any, builder: GraphBuilder, output: str) -> str:
    """``output`` as ``(n,)`` for a regression (models give ``(n, 1)``), as it is for classes."""
    if model.task_ == "regression":
        return builder.op("Reshape", output, builder.const(np.array([-1], dtype=np.int64), "flat"))
    return output


def _at_opset(data: bytes) -> Any:
    """The graph in ``data`` at the opset of the exported graph (ai.onnx 17)."""
    import onnx
    from onnx import version_converter

    model = onnx.load_model_from_string(data)
    main = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    return version_converter.convert_version(model, OPSETS[""]) if main < OPSETS[""] else model
