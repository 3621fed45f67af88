"""ONNX variants run by ONNX Runtime: ``onnx`` (fp32 export) and ``onnx-int8`` (dynamic int8 weights).

The model is one self-contained ``model.onnx`` (no external data files). Its input is the flat
float32 features ``(n, n_features)``; its output is what the source family's ``_raw_predict``
returns. Sessions run on CPU with ``n_threads_`` intra-op threads (default 1: single rows are
fastest without a thread pool).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ArtifactError
from ..base import ModelFamily
from .variant import VariantFamily

__all__ = ["OnnxFamily", "OnnxInt8Family", "ONNX_FILE"]

ONNX_FILE = "model.onnx"


class OnnxFamily(VariantFamily):
    """A neural model exported to ONNX (fp32), predicted with ONNX Runtime."""

    name = "onnx"
    kind = "onnx-fp32"

    @classmethod
    def from_bytes(cls, onnx_bytes: bytes, source: ModelFamily, source_trial: str) -> OnnxFamily:
        """A variant of the fitted ``source`` from a serialised ONNX model."""
        variant = cls(source_trial=source_trial, source_family=source.name)
        variant._adopt(source)
        variant.onnx_bytes_ = bytes(onnx_bytes)
        variant.set_threads(1)
        return variant

    def set_threads(self, n_threads: int) -> None:
        """Run inference with ``n_threads`` intra-op threads (rebuilds the session)."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(n_threads))
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session_ = ort.InferenceSession(self.onnx_bytes_, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own exception types for a corrupt or foreign graph
            raise ArtifactError(f"{self.name} model: ONNX Runtime cannot load it ({exc}).") from exc
        self.input_name_ = self.session_.get_inputs()[0].name
        self.n_threads_ = max(1, int(n_threads))

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (``joblib.dump`` of a fitted ``LeptonAI``) without the ONNX Runtime session, which
        cannot be; the graph's bytes are kept and the session is rebuilt from them on unpickling."""
        state = dict(super().__getstate__())
        state.pop("session_", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "onnx_bytes_" in state:
            self.set_threads(int(state.get("n_threads_", 1)))

    def _raw_predict(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float32)
        out = np.asarray(self.session_.run(None, {self.input_name_: X})[0], dtype=np.float64)
        if self.task_ == "classification":
            return out / out.sum(axis=1, keepdims=True)  # float32 softmax sums to 1 only within 1e-7
        return out.reshape(len(X))

    def _save_weights(self, directory: Path) -> list[Path]:
        path = directory / ONNX_FILE
        path.write_bytes(self.onnx_bytes_)
        return [path]

    def _load_weights(self, directory: Path, state: dict[str, Any]) -> None:
        self._read_view(directory, state)
        path = directory / ONNX_FILE
        if not path.is_file():
            raise ArtifactError(f"{directory}: {self.name} model has no {ONNX_FILE}.")
        self.onnx_bytes_ = path.read_bytes()
        refuse_external_data(self.onnx_bytes_, path)
        self.set_threads(1)


def refuse_external_data(onnx_bytes: bytes, path: Path) -> None:
    """Raise ArtifactError when the graph in ``onnx_bytes`` keeps any tensor in an external file.

    ONNX Runtime would read such a tensor from a path the graph names, resolved against the
    current directory: a file outside the model directory that no hash covers. lepton-ai writes
    self-contained graphs only, so a graph that points elsewhere was not written by it.
    """
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_model_from_string(onnx_bytes)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ArtifactError(f"{path}: not a readable ONNX model ({exc}).") from exc
    for tensor in _tensors(model.graph):
        if tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.external_data:
            raise ArtifactError(f"{path}: tensor {tensor.name!r} keeps its data in an external file; lepton-ai "
                                "loads only self-contained ONNX graphs. Refusing to load.")


def _tensors(graph: Any) -> Any:
    """Every tensor of ``graph``: initializers, sparse ones, and node attributes, subgraphs included."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from _tensors(subgraph)


class OnnxInt8Family(OnnxFamily):
    """The ONNX export with weights quantised to int8 (ONNX Runtime dynamic quantisation)."""

    name = "onnx-int8"
    kind = "onnx-int8"
