"""Sequence families (PyTorch) for rows of T time steps × F features: an RNN (LSTM/GRU) and a 1D-CNN.

Both read the raw values (the ``codes`` view: for sequences, the values as loaded) and learn a
per-feature normalisation over the real frames of train. Variable-length sequences come
zero-padded at the end (the loaders pad ragged lists that way); a sequence's length is the position
of its last frame that is not all zeros, so padding never reaches the model: the RNN reads each
sequence up to its length (the backward direction reads it reversed within its length) and both
families pool over real frames only. The length is computed inside the network from the row itself,
so a single row predicts exactly as it does in a batch, and the exported module needs no extra input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...data.sequences import sequence_lengths
from ...errors import ConfigError
from ...features.prepared import Prepared
from ..base import Cost, Domain
from ..neural.torch_family import TorchFamily
from ..neural.torch_train import Augment

__all__ = ["RNNFamily", "CNN1DFamily", "SequenceLayout"]

_POOL_FROM = 16  # the 1D-CNN halves the time axis between blocks while it is at least this long


@dataclass(frozen=True)
class SequenceLayout:
    """How a flat row folds into ``steps`` frames of ``features`` values."""

    steps: int
    features: int

    @classmethod
    def from_shape(cls, shape: tuple[int, ...], owner: str) -> SequenceLayout:
        dims = tuple(int(d) for d in shape)
        if len(dims) == 2:
            return cls(dims[0], dims[1])
        if len(dims) == 1:
            return cls(dims[0], 1)
        raise ConfigError(f"{owner} needs sequences: rows of shape (T, F) or (T,). Got rows of shape "
                          f"{dims or '(flat features)'}; for a table use the linear, gbdt or mlp families.")

    def to_json(self) -> dict[str, int]:
        return {"steps": self.steps, "features": self.features}


class _SequenceFamily(TorchFamily):
    """Layout and per-feature statistics of the real frames, shared by the sequence families."""

    view = "codes"  # for sequences: the raw values, normalised inside the network
    modalities = ("sequence",)

    def _prepare(self, train: Prepared) -> None:
        self.layout_ = SequenceLayout.from_shape(train.shape, f"the {self.name} family")
        steps, features = self.layout_.steps, self.layout_.features
        if steps * features != train.X.shape[1]:
            raise ConfigError(f"the {self.name} family: rows of shape {train.shape} need {steps * features} "
                              f"features; got {train.X.shape[1]}.")
        frames = np.nan_to_num(np.asarray(train.X, dtype=np.float32)).reshape(len(train.X), steps, features)
        real = np.arange(steps)[None, :] < sequence_lengths(frames)[:, None]
        values = frames[real].astype(np.float64)
        std = values.std(axis=0)
        self.feature_mean_ = values.mean(axis=0).tolist()
        self.feature_std_ = np.where(std > 0, std, 1.0).tolist()

    def _network_state(self) -> dict[str, Any]:
        return {"layout": self.layout_.to_json(), "feature_mean": self.feature_mean_,
                "feature_std": self.feature_std_}

    def _load_network_state(self, state: dict[str, Any]) -> None:
        self.layout_ = SequenceLayout(**state["layout"])
        self.feature_mean_, self.feature_std_ = state["feature_mean"], state["feature_std"]

    def _augment(self) -> Augment | None:
        return None


class RNNFamily(_SequenceFamily):
    """An LSTM or GRU (``cell``), optionally bidirectional; head on the last state and the mean output."""

    name = "rnn"

    def __init__(self, *, cell: str = "lstm", hidden: int = 64, layers: int = 1, bidirectional: bool = True,
                 dropout: float = 0.1, learning_rate: float = 5e-3, weight_decay: float = 1e-4,
                 label_smoothing: float = 0.05, epochs: int = 40, batch_size: int = 64, patience: int = 8,
                 precision: str = "auto") -> None:
        self.cell = cell
        self.hidden = hidden
        self.layers = layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.precision = precision

    def _check_params(self) -> None:
        if self.cell not in ("lstm", "gru"):
            raise ConfigError(f"The 'cell' parameter of RNNFamily must be 'lstm' or 'gru'. Got {self.cell!r}.")
        if not isinstance(self.bidirectional, (bool, np.bool_)):
            raise ConfigError(f"The 'bidirectional' parameter of RNNFamily must be True or False. "
                              f"Got {self.bidirectional!r}.")
        self._check_int("hidden", 1)
        self._check_int("layers", 1)
        self._check_float("dropout", 0.0, 1.0, include_low=True)
        super()._check_params()

    def _network(self) -> Any:
        from ..neural.sequence_nets import build_rnn

        return build_rnn(self.layout_, self.cell, self.hidden, self.layers, bool(self.bidirectional),
                         self.dropout, self._out_width(), self.feature_mean_, self.feature_std_)

    def estimate_cost(self, n_rows: int, n_features: int) -> Cost:
        steps = _guess_steps(n_features)
        features = max(1, n_features // steps)
        directions = 2 if self.bidirectional else 1
        gates = 4 if self.cell == "lstm" else 3
        macs = steps * directions * gates * self.hidden * (features + self.hidden + (self.layers - 1) * 2 * self.hidden)
        batches = -(-max(n_rows, 1) // self.batch_size)
        # Each time step of each layer and direction is a few small kernels, forward and backward.
        step_s = 2e-3 + steps * self.layers * directions * 1.2e-4
        epoch_s = n_rows * 6 * macs / 2e10 + batches * step_s
        return Cost(fit_seconds=0.5 + self.epochs * epoch_s,
                    predict_ms_per_row=0.05 + steps * self.layers * directions * 0.01,
                    memory_bytes=4 * n_rows * max(n_features, 1) * 2 + 60 * 10**6)

    @classmethod
    def search_space(cls, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "cell": Domain("choice", choices=("lstm", "gru")),
            "hidden": Domain("choice", choices=(32, 64, 128)),
            "layers": Domain("int", 1, 2),
            "bidirectional": Domain("choice", choices=(True, False)),
            "dropout": Domain("float", 0.0, 0.4),
            "learning_rate": Domain("float", 1e-3, 1e-2, log=True),
            "weight_decay": Domain("float", 1e-6, 1e-2, log=True),
            "label_smoothing": Domain("choice", choices=(0.0, 0.05, 0.1)),
        }

    @classmethod
    def starting_points(cls, n_rows: int, n_features: int) -> list[dict[str, Any]]:
        return [
            {"cell": "gru", "hidden": 64, "bidirectional": True, "epochs": 30},
            {"cell": "lstm", "hidden": 128, "bidirectional": True, "dropout": 0.2, "epochs": 60},
        ]

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"hidden": 6, "epochs": 2, "batch_size": 32, "precision": "fp32"}


class CNN1DFamily(_SequenceFamily):
    """Temporal convolutions (Conv1d → BatchNorm → ReLU blocks), masked mean- and max-pooling, linear head."""

    name = "cnn1d"
    favoured = ("sequence",)

    def __init__(self, *, width: int = 64, depth: int = 3, kernel_size: int = 5, dropout: float = 0.1,
                 learning_rate: float = 5e-3, weight_decay: float = 1e-4, label_smoothing: float = 0.05,
                 epochs: int = 40, batch_size: int = 64, patience: int = 8, precision: str = "auto") -> None:
        self.width = width
        self.depth = depth
        self.kernel_size = kernel_size
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.precision = precision

    def _check_params(self) -> None:
        for name in ("width", "depth", "kernel_size"):
            self._check_int(name, 1)
        self._check_float("dropout", 0.0, 1.0, include_low=True)
        super()._check_params()

    def _network(self) -> Any:
        from ..neural.sequence_nets import build_cnn1d

        return build_cnn1d(self.layout_, self.width, self.depth, self.kernel_size, self.dropout, _POOL_FROM,
                           self._out_width(), self.feature_mean_, self.feature_std_)

    def estimate_cost(self, n_rows: int, n_features: int) -> Cost:
        steps = _guess_steps(n_features)
        features = max(1, n_features // steps)
        macs, channels, length = 0, features, steps
        for i in range(self.depth):
            out = self.width * 2 ** min(i, 2)
            macs += length * channels * out * self.kernel_size
            channels = out
            if i < self.depth - 1 and length >= _POOL_FROM:
                length //= 2
        batches = -(-max(n_rows, 1) // self.batch_size)
        epoch_s = n_rows * 6 * macs / 6e10 + batches * 3e-3
        return Cost(fit_seconds=0.5 + self.epochs * epoch_s, predict_ms_per_row=0.05 + 2 * macs / 3e7,
                    memory_bytes=4 * n_rows * max(n_features, 1) * 2 + 60 * 10**6)

    @classmethod
    def search_space(cls, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "width": Domain("choice", choices=(16, 32, 64, 128)),
            "depth": Domain("int", 1, 4),
            "kernel_size": Domain("choice", choices=(3, 5, 7)),
            "dropout": Domain("float", 0.0, 0.4),
            "learning_rate": Domain("float", 1e-3, 2e-2, log=True),
            "weight_decay": Domain("float", 1e-6, 1e-2, log=True),
            "label_smoothing": Domain("choice", choices=(0.0, 0.05, 0.1)),
        }

    @classmethod
    def starting_points(cls, n_rows: int, n_features: int) -> list[dict[str, Any]]:
        return [
            {"width": 32, "depth": 2, "kernel_size": 5, "epochs": 30},
            {"width": 64, "depth": 3, "kernel_size": 5, "dropout": 0.2, "epochs": 60},
        ]

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"width": 4, "depth": 2, "kernel_size": 3, "epochs": 2, "batch_size": 32, "precision": "fp32"}


def _guess_steps(n_features: int) -> int:
    """Time steps for a cost estimate, which sees only the flat width: about √(2·T·F), e.g. 29×12 → 26."""
    return max(1, round(math.sqrt(2 * max(n_features, 1))))
