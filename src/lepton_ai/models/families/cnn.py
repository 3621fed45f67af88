"""A convolutional network (PyTorch) for images, trained fast on a small CPU node.

It reads the raw pixel values (the ``codes`` view: for images, the values as loaded) and learns its
own per-channel normalisation on train, so translation augmentation shifts real pixels rather than
per-pixel z-scores. ``depth`` stages of 3×3 conv → BatchNorm → ReLU with ``width`` × 2^stage
channels, max-pooling between stages while the maps are large, then max-pooling down to at most
4×4, flatten, dropout and a linear head. Training runs channels-last (about 1.4× NCHW for fp32
convolutions on the reference node) with ``precision="auto"``: bf16 autocast when the first steps
measure it faster (on the reference node's AMX about 1.25× for the default network on 28×28 digits),
label smoothing and the shared one-cycle loop. Predictions run in fp32 with BatchNorm folded into the
convolutions; compression adds bf16, int8 and ONNX variants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...features.prepared import Prepared
from ..base import Cost, Domain
from ..neural.augment import ImageAugment, ImageLayout
from ..neural.torch_family import TorchFamily
from ..neural.torch_train import Augment

__all__ = ["CNNFamily"]

_POOL_FROM = 6        # pool after a stage while the maps are at least this large
_HEAD_MAX = 4         # the head pools the maps down to at most this size
_STEM_STRIDE_FROM = 48
# Throughput priors for the cost estimate (2 threads, this node class): training FLOP/s of small convs
# in bf16 channels-last, and Python/dispatch seconds per optimiser step.
_TRAIN_FLOPS = 1.2e11
_STEP_S = 3e-3


@dataclass(frozen=True)
class _Stage:
    in_channels: int
    out_channels: int
    stride: int
    pool: bool
    height: int   # output size of the convolution
    width: int


def _stages(layout: ImageLayout, width: int, depth: int) -> tuple[list[_Stage], int, int, int]:
    """The stages for ``layout``; also the head's pooling count and the flattened map size."""
    stages = []
    h, w, channels = layout.height, layout.width, layout.channels
    for i in range(depth):
        out = width * 2 ** min(i, 3)
        stride = 2 if i == 0 and min(h, w) >= _STEM_STRIDE_FROM else 1
        h, w = -(-h // stride), -(-w // stride)
        pool = i < depth - 1 and min(h, w) >= _POOL_FROM
        stages.append(_Stage(channels, out, stride, pool, h, w))
        channels = out
        if pool:
            h, w = h // 2, w // 2
    head_pools = 0
    while max(h, w) > _HEAD_MAX and min(h, w) >= 2:
        h, w, head_pools = h // 2, w // 2, head_pools + 1
    return stages, head_pools, channels, h * w


class CNNFamily(TorchFamily):
    """A small VGG-style CNN with translation (and optional flip) augmentation."""

    name = "cnn"
    favoured = ("image",)
    view = "codes"  # for images: the raw values, normalised inside the network
    modalities = ("image",)

    def __init__(
        self,
        *,
        width: int = 16,
        depth: int = 3,
        dropout: float = 0.1,
        translate: float = 0.1,
        flip: bool = False,
        test_flip: bool = False,
        learning_rate: float = 5e-3,
        weight_decay: float = 5e-4,
        label_smoothing: float = 0.1,
        epochs: int = 30,
        batch_size: int = 128,
        patience: int = 6,
        precision: str = "auto",
    ) -> None:
        self.width = width
        self.depth = depth
        self.dropout = dropout
        self.translate = translate
        self.flip = flip
        self.test_flip = test_flip
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.epochs = epochs
        self.batch_size = batch_size
        self.patience = patience
        self.precision = precision

    def _check_params(self) -> None:
        self._check_int("width", 1)
        self._check_int("depth", 1)
        self._check_float("dropout", 0.0, 1.0, include_low=True)
        self._check_float("translate", 0.0, 0.5, include_low=True, include_high=True)
        for name in ("flip", "test_flip"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ConfigError(f"The '{name}' parameter of CNNFamily must be True or False. "
                                  f"Got {getattr(self, name)!r}.")
        super()._check_params()

    def _prepare(self, train: Prepared) -> None:
        self.layout_ = ImageLayout.from_shape(train.shape, "the cnn family")
        if self.layout_.n_features != train.X.shape[1]:
            raise ConfigError(f"the cnn family: rows of shape {train.shape} need {self.layout_.n_features} "
                              f"features; got {train.X.shape[1]}.")
        images = np.nan_to_num(np.asarray(train.X, dtype=np.float32))
        if self.layout_.channels_last:
            per_channel = images.reshape(len(images), -1, self.layout_.channels).transpose(2, 0, 1)
        else:
            per_channel = images.reshape(len(images), self.layout_.channels, -1).transpose(1, 0, 2)
        flat = per_channel.reshape(self.layout_.channels, -1).astype(np.float64)
        std = flat.std(axis=1)
        self.pixel_mean_ = flat.mean(axis=1).tolist()
        self.pixel_std_ = np.where(std > 0, std, 1.0).tolist()

    def _network(self) -> Any:
        return _build(self.layout_, self.width, self.depth, self.dropout, self._out_width(), self.test_flip,
                      self.pixel_mean_, self.pixel_std_)

    def _augment(self) -> Augment | None:
        augment = ImageAugment(self.layout_, translate=self.translate, flip=bool(self.flip))
        return augment if augment.active else None

    def _network_state(self) -> dict[str, Any]:
        return {"layout": self.layout_.to_json(), "pixel_mean": self.pixel_mean_, "pixel_std": self.pixel_std_}

    def _load_network_state(self, state: dict[str, Any]) -> None:
        self.layout_ = ImageLayout(**state["layout"])
        self.pixel_mean_, self.pixel_std_ = state["pixel_mean"], state["pixel_std"]

    # ---- cost and search -----------------------------------------------------------------
    def estimate_cost(self, n_rows: int, n_features: int) -> Cost:
        layout = _guess_layout(n_features)
        stages, _, channels, cells = _stages(layout, self.width, self.depth)
        macs = sum(s.height * s.width * s.in_channels * s.out_channels * 9 for s in stages) + channels * cells * 10
        steps = -(-max(n_rows, 1) // self.batch_size)
        epoch_s = n_rows * 6 * macs / _TRAIN_FLOPS + steps * _STEP_S
        passes = 2 if self.test_flip else 1
        return Cost(
            fit_seconds=0.5 + self.epochs * epoch_s,
            predict_ms_per_row=0.05 + passes * 2 * macs / 3e7,  # fp32 inference at ~30 GFLOP/s per row
            memory_bytes=4 * n_rows * max(n_features, 1) * 2 + 4 * self.batch_size * macs // 9 + 80 * 10**6,
        )

    @classmethod
    def search_space(cls, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {
            "width": Domain("choice", choices=(8, 16, 32, 64)),
            "depth": Domain("int", 2, 4),
            "dropout": Domain("float", 0.0, 0.5),
            "translate": Domain("choice", choices=(0.0, 0.05, 0.1, 0.15)),
            "flip": Domain("choice", choices=(False, True)),
            "learning_rate": Domain("float", 1e-3, 2e-2, log=True),
            "weight_decay": Domain("float", 1e-5, 1e-2, log=True),
            "label_smoothing": Domain("choice", choices=(0.0, 0.05, 0.1)),
            "batch_size": Domain("choice", choices=(64, 128, 256)),
        }

    @classmethod
    def starting_points(cls, n_rows: int, n_features: int) -> list[dict[str, Any]]:
        batch = 64 if n_rows < 2000 else 128
        return [
            {"width": 16, "depth": 3, "batch_size": batch, "epochs": 20},
            {"width": 32, "depth": 3, "dropout": 0.2, "batch_size": batch, "epochs": 40},
        ]

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"width": 4, "depth": 2, "epochs": 2, "batch_size": 32, "precision": "fp32"}


def _guess_layout(n_features: int) -> ImageLayout:
    """A square layout for a cost estimate, which sees only the feature count: gray, else RGB."""
    for channels in (1, 3):
        side = int(round((n_features / channels) ** 0.5))
        if side * side * channels == n_features:
            return ImageLayout(channels, side, side, channels_last=channels > 1)
    return ImageLayout(1, 1, max(n_features, 1), channels_last=False)


def _build(layout: ImageLayout, width: int, depth: int, dropout: float, n_out: int, test_flip: bool,
           mean: list[float], std: list[float]) -> Any:
    import torch
    import torch.nn as nn

    stages, head_pools, channels, cells = _stages(layout, width, depth)
    layers: list[nn.Module] = []
    for stage in stages:
        layers += [nn.Conv2d(stage.in_channels, stage.out_channels, 3, stride=stage.stride, padding=1, bias=False),
                   nn.BatchNorm2d(stage.out_channels), nn.ReLU(inplace=True)]
        if stage.pool:
            layers.append(nn.MaxPool2d(2))
    layers += [nn.MaxPool2d(2)] * head_pools

    class ImageNet(nn.Module):
        """Flat rows → normalised channels-last images → conv stages → linear head (logits)."""

        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))
            self.features = nn.Sequential(*layers)
            self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels * cells, n_out))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.where(torch.isnan(x), torch.zeros_like(x), x)
            images = ((layout.to_images(x) - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
            out = self.head(self.features(images))
            if test_flip and not self.training:
                out = (out + self.head(self.features(images.flip(-1)))) / 2
            return out

    return ImageNet().to(memory_format=torch.channels_last)  # type: ignore[call-overload]
