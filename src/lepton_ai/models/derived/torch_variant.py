"""PyTorch variants of a neural family: ``torch-bf16`` and ``torch-int8`` (dynamic quantisation).

Both keep the source model's fp32 safetensors in ``source/`` and convert its exported module on
load: a bf16 cast, or dynamic int8 quantisation of its Linear/LSTM/GRU layers. Quantised modules
cannot be written to safetensors as they are (their packed weights are opaque objects), and
quantising the same fp32 weights again gives the same int8 weights, so rebuilding on load is exact.
Their size on disk is the fp32 source's; the ``onnx-int8`` variant is the one that stores int8.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np

from .variant import SourceVariant

__all__ = ["TorchBf16Family", "TorchInt8Family"]


class _TorchVariant(SourceVariant):
    input_dtype: Any = None

    def _raw_predict(self, X: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
            if self.input_dtype is not None:
                x = x.to(self.input_dtype)
            out = self.module_(x).double().numpy()
        if self.task_ == "classification":
            return out / out.sum(axis=1, keepdims=True)  # bf16 probabilities sum to 1 only within ~1e-2
        return out


class TorchBf16Family(_TorchVariant):
    """The source network cast to bfloat16 (AVX-512 bf16 / AMX on recent CPUs)."""

    name = "torch-bf16"
    kind = "torch-bf16"

    def _convert(self) -> None:
        import torch

        self.input_dtype = torch.bfloat16
        # A copy: Module.to casts in place, and the exported module shares the source's weights.
        self.module_ = copy.deepcopy(self.source_.export_module()).to(torch.bfloat16).eval()


class TorchInt8Family(_TorchVariant):
    """The source network with Linear/LSTM/GRU weights quantised to int8 (activations quantised per call)."""

    name = "torch-int8"
    kind = "torch-int8"

    def _convert(self) -> None:
        import torch

        module = self.source_.export_module().eval()
        with warnings.catch_warnings():  # torch.ao's notice that quantisation is moving to torchao
            warnings.simplefilter("ignore")
            self.module_ = torch.ao.quantization.quantize_dynamic(
                module, {torch.nn.Linear, torch.nn.LSTM, torch.nn.GRU}, dtype=torch.qint8
            )
