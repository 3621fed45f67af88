"""The inference plan as ONNX nodes: raw columns in, the float32 matrix of a view out.

Each feature column of the table is one graph input of shape ``(n, 1)``: numeric and boolean
columns as ``double`` (NaN or ±inf where missing; booleans as 0/1), categorical columns as
``string`` (the empty string, or any text not seen in training, where unknown). The nodes repeat
:class:`~lepton_ai.features.plan.InferencePlan` step for step, in the same precision: the numeric
block is imputed and standardised in float64 and cast to float32 at the end, categories go through
``LabelEncoder`` lookups built from the plan's own tables. So a row gives the same features here
as through ``predict``, bit for bit.

Written by hand because the plan is lepton-ai's own preparation: no converter knows it. The nodes
are plain ONNX operators (``onnx.helper``), nothing custom, so any ONNX Runtime (C++, Java,
JavaScript, C#) runs them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import NotBuiltError
from ..features.plan import InferencePlan

__all__ = ["GraphBuilder", "plan_inputs", "view_nodes", "ML_DOMAIN"]

ML_DOMAIN = "ai.onnx.ml"


class GraphBuilder:
    """Nodes, initializers and inputs of one graph under construction, with unique names."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.inputs: list[Any] = []
        self._count = 0

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value: Any, hint: str = "const") -> str:
        from onnx import numpy_helper

        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, *inputs: str, hint: str | None = None, domain: str = "", **attributes: Any) -> str:
        """Add one node with one output; returns the output's name."""
        from onnx import helper

        out = self.fresh(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], domain=domain, **attributes))
        return out

    def input(self, name: str, element_type: int) -> str:
        from onnx import helper

        self.inputs.append(helper.make_tensor_value_info(name, element_type, ["n", 1]))
        return name

    def include(self, model: Any, features: str, prefix: str) -> list[str]:
        """Copy the graph of ``model`` (one input) in, fed by ``features``; returns its outputs' names."""
        from onnx import compose

        graph = compose.add_prefix(model, prefix).graph
        (source,) = [i.name for i in graph.input if i.name not in {t.name for t in graph.initializer}]
        for node in graph.node:
            for k, name in enumerate(node.input):
                if name == source:
                    node.input[k] = features
            self.nodes.append(node)
        self.initializers.extend(graph.initializer)
        return [o.name for o in graph.output]


def plan_inputs(plan: InferencePlan, builder: GraphBuilder) -> dict[str, str]:
    """Declare one input per feature column of ``plan``; returns column name → input name."""
    from onnx import TensorProto

    layout = plan.layout
    if layout.shape is not None:
        raise NotBuiltError("ONNX export from raw inputs is built for tables; image and sequence models take "
                            "their pixel or step arrays as they are (lepton compress --onnx exports those).")
    text = [layout.names[j] for j in layout.others[layout.n_categorical:]]
    if text:
        raise NotBuiltError(f"ONNX export of a table with free-text columns ({', '.join(text)}) is not built: the "
                            "word hashing they go through has no ONNX operator. Drop the columns or use lepton serve.")
    if len(layout.dates):
        raise NotBuiltError(f"ONNX export of a table with date columns ({', '.join(layout.date_names)}) is not built: "
                            "reading dates from text has no ONNX operator. Pass the calendar parts as numbers, "
                            "or use lepton serve.")
    names = {}
    for j in layout.numeric:
        names[layout.names[j]] = builder.input(layout.names[j], TensorProto.DOUBLE)
    for name in plan.categorical:
        names[name] = builder.input(name, TensorProto.STRING)
    return names


def view_nodes(plan: InferencePlan, view: str, builder: GraphBuilder, inputs: dict[str, str]) -> str:
    """Nodes that make ``view`` ("dense" or "codes") of the inputs; returns the float32 matrix's name."""
    from onnx import TensorProto

    parts: list[str] = []
    numeric = [inputs[name] for name in plan.layout.numeric_names]
    if numeric:
        block = builder.op("Concat", *numeric, axis=1, hint="numeric")
        missing = builder.op("Or", builder.op("IsNaN", block), builder.op("IsInf", block), hint="missing")
        if view == "dense":
            filled = builder.op("Where", missing, builder.const(plan.median[None, :], "median"), block)
            scaled = builder.op("Div", builder.op("Sub", filled, builder.const(plan.mean[None, :], "mean")),
                                builder.const(plan.std[None, :], "std"))
            parts.append(builder.op("Cast", scaled, to=TensorProto.FLOAT))
            if len(plan.indicators):
                flags = builder.op("Gather", missing, builder.const(plan.indicators, "indicators"), axis=1)
                parts.append(builder.op("Cast", flags, to=TensorProto.FLOAT))
        else:
            cleaned = builder.op("Where", missing, builder.const(np.array([[np.nan]]), "nan"), block)
            parts.append(builder.op("Cast", cleaned, to=TensorProto.FLOAT))
    for k, (name, lookup) in enumerate(zip(plan.categorical, plan.lookups, strict=True)):
        keys = list(lookup) or ["\x00"]  # a column with no category in train: every value is unknown
        if view == "dense":
            last = int(plan.last_slots[k])
            slots = [min(lookup[key], last) for key in lookup] or [-1]
            slot = builder.op("LabelEncoder", inputs[name], domain=ML_DOMAIN, keys_strings=keys,
                              values_int64s=slots, default_int64=-1, hint=f"slot_{k}")
            hot = builder.op("Equal", slot, builder.const(np.arange(last + 1, dtype=np.int64)[None, :], "slots"))
            parts.append(builder.op("Cast", hot, to=TensorProto.FLOAT))
        else:
            codes = [float(lookup[key]) for key in lookup] or [float("nan")]
            parts.append(builder.op("LabelEncoder", inputs[name], domain=ML_DOMAIN, keys_strings=keys,
                                    values_floats=codes, default_float=float("nan"), hint=f"code_{k}"))
    return builder.op("Concat", *parts, axis=1, hint=f"{view}_features")
