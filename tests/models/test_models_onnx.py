"""ONNX variants load self-contained graphs only: external data would be read from outside the folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from lepton_ai.errors import ArtifactError
from lepton_ai.models.derived.onnx import refuse_external_data


def _graph(external: str | None) -> bytes:
    weight = numpy_helper.from_array(np.ones((1, 2), dtype=np.float32), name="w")
    if external is not None:
        weight.ClearField("raw_data")
        weight.data_location = TensorProto.EXTERNAL
        entry = weight.external_data.add()
        entry.key, entry.value = "location", external
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], [weight])
    return helper.make_model(graph).SerializeToString()


def test_a_self_contained_graph_passes(tmp_path: Path) -> None:
    refuse_external_data(_graph(None), tmp_path / "model.onnx")


@pytest.mark.parametrize("location", ["/etc/hostname", "../../weights.bin", "weights.bin"])
def test_a_graph_with_external_data_is_refused(tmp_path: Path, location: str) -> None:
    with pytest.raises(ArtifactError, match=r"model.onnx: tensor 'w' keeps its data in an external file"):
        refuse_external_data(_graph(location), tmp_path / "model.onnx")


def test_external_data_inside_a_subgraph_is_found(tmp_path: Path) -> None:
    inner = onnx.load_model_from_string(_graph("/etc/hostname")).graph
    node = helper.make_node("If", ["c"], ["y"], then_branch=inner, else_branch=inner)
    graph = helper.make_graph([node], "outer", [helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])])
    with pytest.raises(ArtifactError, match="external file"):
        refuse_external_data(helper.make_model(graph).SerializeToString(), tmp_path / "model.onnx")


def test_bytes_that_are_not_onnx_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not a readable ONNX model"):
        refuse_external_data(b"\xff\x00garbage" * 10, tmp_path / "model.onnx")
