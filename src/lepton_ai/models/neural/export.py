"""The exported form of a neural family: one module from flat features to what ``_raw_predict`` returns.

Compression (ONNX export, dynamic int8, bf16) works on this module alone, whatever the family: it
takes float32 ``(n, n_features)`` and returns probabilities ``(n, n_classes)`` for classification
or values ``(n,)`` in the target's units for regression.
"""

from __future__ import annotations

from typing import Any

__all__ = ["output_module"]


def output_module(net: Any, task: str, *, y_mean: float = 0.0, y_std: float = 1.0,
                  shape: tuple[int, ...] = ()) -> Any:
    """Wrap ``net`` (logits or standardised values) into the exported module.

    ``shape``: the per-row shape ``net`` expects (images, sequences); flat rows are reshaped to it
    inside the module, so the exported input stays ``(n, n_features)``.
    """
    import torch

    class _Exported(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if shape:
                x = x.reshape(x.shape[0], *shape)
            out = self.net(x)
            if task == "classification":
                return torch.softmax(out, dim=1)
            return out[:, 0] * y_std + y_mean

    return _Exported().eval()
