"""Image augmentation with plain tensor ops, applied to whole in-memory batches (no per-sample loader).

Images travel through training as flat rows; :class:`ImageLayout` says how a row folds into an
image (``(H, W)`` grayscale, ``(H, W, C)`` channels-last or ``(C, H, W)`` channels-first).
:class:`ImageAugment` shifts each image by up to ``translate`` of its size (zero padding, as a
random crop of a padded image does) and, only when asked, flips it horizontally: a flip turns a
2 into something that is not a digit, so flips are off unless the data allows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError

__all__ = ["ImageLayout", "ImageAugment"]

_CHANNEL_COUNTS = (1, 2, 3, 4)


@dataclass(frozen=True)
class ImageLayout:
    """How a flat row folds into an image: ``channels`` × ``height`` × ``width``, stored HWC or CHW."""

    channels: int
    height: int
    width: int
    channels_last: bool  # rows are stored (H, W, C); else (C, H, W) (or (H, W) when grayscale)

    @classmethod
    def from_shape(cls, shape: tuple[int, ...], owner: str = "the CNN family") -> ImageLayout:
        """Read the per-row shape of an image dataset: ``(H, W)``, ``(H, W, C)`` or ``(C, H, W)``."""
        dims = tuple(int(d) for d in shape)
        if len(dims) == 2:
            return cls(1, dims[0], dims[1], channels_last=False)
        if len(dims) == 3 and dims[2] in _CHANNEL_COUNTS:
            return cls(dims[2], dims[0], dims[1], channels_last=True)
        if len(dims) == 3 and dims[0] in _CHANNEL_COUNTS:
            return cls(dims[0], dims[1], dims[2], channels_last=False)
        raise ConfigError(f"{owner} needs images: rows of shape (H, W), (H, W, C) or (C, H, W) with C in "
                          f"{_CHANNEL_COUNTS}. Got rows of shape {dims or '(flat features)'}; for a table use "
                          "the linear, gbdt or mlp families.")

    @property
    def n_features(self) -> int:
        return self.channels * self.height * self.width

    def to_images(self, rows: Any) -> Any:
        """Flat rows ``(n, n_features)`` → a ``(n, C, H, W)`` view (a permuted view for HWC rows)."""
        # -1, not len(rows): an ONNX export keeps the batch dimension dynamic
        if self.channels_last:
            return rows.reshape(-1, self.height, self.width, self.channels).permute(0, 3, 1, 2)
        return rows.reshape(-1, self.channels, self.height, self.width)

    def to_rows(self, images: Any) -> Any:
        """The inverse of :meth:`to_images`."""
        if self.channels_last:
            images = images.permute(0, 2, 3, 1)
        return images.reshape(-1, self.n_features)

    def to_json(self) -> dict[str, Any]:
        return {"channels": self.channels, "height": self.height, "width": self.width,
                "channels_last": self.channels_last}


class ImageAugment:
    """Random translation (and horizontal flips when ``flip``) of a batch of flat image rows."""

    def __init__(self, layout: ImageLayout, *, translate: float, flip: bool) -> None:
        self.layout = layout
        self.pad_h = _pad(translate, layout.height)
        self.pad_w = _pad(translate, layout.width)
        self.flip = flip

    @property
    def active(self) -> bool:
        return bool(self.pad_h or self.pad_w or self.flip)

    def __call__(self, rows: Any, generator: Any) -> Any:
        images = self.layout.to_images(rows)
        if self.pad_h or self.pad_w:
            images = self._translate(images, generator)
        if self.flip:
            flipped = _rand(len(images), generator, images.device) < 0.5
            images = images.where(~flipped[:, None, None, None], images.flip(-1))
        return self.layout.to_rows(images)

    def _translate(self, images: Any, generator: Any) -> Any:
        import torch
        import torch.nn.functional as F

        n, channels, height, width = images.shape
        padded = F.pad(images, (self.pad_w, self.pad_w, self.pad_h, self.pad_h))
        dy = torch.randint(0, 2 * self.pad_h + 1, (n,), generator=generator).to(images.device)
        dx = torch.randint(0, 2 * self.pad_w + 1, (n,), generator=generator).to(images.device)
        rows = (dy[:, None] + torch.arange(height, device=images.device))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(width, device=images.device))[:, None, None, :]
        index = torch.arange(n, device=images.device)[:, None, None, None]
        channel = torch.arange(channels, device=images.device)[None, :, None, None]
        return padded[index, channel, rows, cols]


def _rand(n: int, generator: Any, device: Any) -> Any:
    import torch

    return torch.rand(n, generator=generator).to(device)


def _pad(translate: float, size: int) -> int:
    """Pixels of shift for a fraction ``translate`` of ``size``: at least one when translation is on."""
    if translate <= 0:
        return 0
    return max(1, round(translate * size))
