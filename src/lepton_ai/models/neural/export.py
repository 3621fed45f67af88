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
    return _exported_class()(net, task, y_mean, y_std, tuple(shape)).eval()


def _exported_class() -> Any:
    """The module class, defined on first use (torch is imported only then) under this module's
    name ``_Exported``, so a fitted model holding one pickles and unpickles like any class."""
    cls = globals().get("_Exported")
    if cls is not None:
        return cls
    import torch

    class _Exported(torch.nn.Module):
        def __init__(self, net: Any, task: str, y_mean: float, y_std: float, shape: tuple[int, ...]) -> None:
            super().__init__()
            self.net = net
            self.task, self.y_mean, self.y_std, self.shape = task, y_mean, y_std, shape

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.shape:
                x = x.reshape(x.shape[0], *self.shape)
            out = self.net(x)
            if self.task == "classification":
                return torch.softmax(out, dim=1)
            return out[:, 0] * self.y_std + self.y_mean

    _Exported.__qualname__ = "_Exported"
    globals()["_Exported"] = _Exported
    return _Exported


def __getattr__(name: str) -> Any:
    """``_Exported`` for unpickling in a process that has not exported anything yet."""
    if name == "_Exported":
        return _exported_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
