"""A multi-layer perceptron (PyTorch) on the dense view.

Trained by the shared loop (models/torch_train.py): AdamW on in-memory tensors with manual
batching, a one-cycle learning-rate schedule, early stopping on dev loss with the best weights
restored, and the deadline checked every batch. Seeded and run with a fixed thread count, it is
reproducible bit for bit. Uses a GPU when one is present; weights are saved as safetensors.
"""

from __future__ import annotations

from typing import Any

from ..base import Cost, Domain
from ..neural.torch_family import TorchFamily

__all__ = ["MLPFamily"]


class MLPFamily(TorchFamily):
    """``depth`` hidden layers of ``width`` units (Linear → LayerNorm → GELU → Dropout)."""

    name = "mlp"

    def __init__(
        self,
        *,
        width: int = 128,
        depth: int = 2,
        dropout: float = 0.1,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-4,
        epochs: int = 60,
        batch_size: int = 128,
        patience: int = 10,
    ) -> None:
        self.width = width
        self.depth = depth
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience

    def _check_params(self) -> None:
        for name in ("width", "depth"):
            self._check_int(name, 1)
        self._check_float("dropout", 0.0, 1.0, include_low=True)
        super()._check_params()

    def _network(self) -> Any:
        import torch.nn as nn

        layers: list[nn.Module] = []
        size = self.n_features_
        for _ in range(self.depth):
            layers += [nn.Linear(size, self.width), nn.LayerNorm(self.width), nn.GELU(), nn.Dropout(self.dropout)]
            size = self.width
        layers.append(nn.Linear(size, self._out_width()))
        return nn.Sequential(*layers)

    def estimate_cost(self, n_rows: int, n_features: int) -> Cost:
        # Forward + backward is ~6 FLOPs per weight per row; small fp32 matmuls reach ~30 GFLOP/s on
        # a 2-core AVX-512 node, and each optimiser step costs ~1.5 ms of Python and dispatch.
        flops_per_row = 6 * (n_features * self.width + (self.depth - 1) * self.width**2)
        steps_per_epoch = -(-max(n_rows, 1) // self.batch_size)
        return Cost(
            fit_seconds=0.3 + self.epochs * (n_rows * flops_per_row / 3e10 + steps_per_epoch * 1.5e-3),
            predict_ms_per_row=0.03,
            memory_bytes=4 * n_rows * max(n_features, 1) * 3 + 50 * 10**6,
        )

    @classmethod
    def search_space(cls, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "width": Domain("choice", choices=(64, 128, 256, 512)),
            "depth": Domain("int", 1, 4),
            "dropout": Domain("float", 0.0, 0.5),
            "learning_rate": Domain("float", 1e-4, 1e-2, log=True),
            "weight_decay": Domain("float", 1e-6, 1e-2, log=True),
        }

    @classmethod
    def starting_points(cls, n_rows: int, n_features: int) -> list[dict[str, Any]]:
        batch = 64 if n_rows < 2000 else 256
        return [
            {"width": 128, "depth": 2, "dropout": 0.1, "batch_size": batch},
            {"width": 256, "depth": 3, "dropout": 0.2, "learning_rate": 1e-3, "batch_size": batch, "epochs": 100},
        ]

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"width": 8, "depth": 1, "epochs": 3, "batch_size": 16}
