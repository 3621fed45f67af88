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
        self.set_threads(1)


class OnnxInt8Family(OnnxFamily):
    """The ONNX export with weights quantised to int8 (ONNX Runtime dynamic quantisation)."""

    name = "onnx-int8"
    kind = "onnx-int8"
