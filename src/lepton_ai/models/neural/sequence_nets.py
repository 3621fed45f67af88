"""The networks of the sequence families: flat rows in, logits out, padding handled inside.

Every operation here (length from the trailing all-zero frames, per-row reversal by ``gather``,
masked pooling) exports to ONNX and keeps each row independent of the others in its batch, which
``pack_padded_sequence`` would not give the exported module.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_rnn", "build_cnn1d"]


def _hold_statistics(module: Any, mean: list[float], std: list[float]) -> None:
    """Give ``module`` the per-feature mean and std buffers that :func:`_frames_and_mask` normalises with."""
    import torch

    module.register_buffer("mean", torch.tensor(mean, dtype=torch.float32))
    module.register_buffer("std", torch.tensor(std, dtype=torch.float32))


def _frames_and_mask(module: Any, x: Any) -> tuple[Any, Any, Any]:
    """Normalised frames ``(n, T, F)`` with padding at zero, the mask ``(n, T)`` and the lengths ``(n,)``."""
    import torch

    x = torch.where(torch.isnan(x), torch.zeros_like(x), x)
    frames = x.reshape(-1, module.steps, module.features)  # -1: the batch stays dynamic in an ONNX export
    real = (frames != 0).any(dim=2)
    positions = torch.arange(1, module.steps + 1, device=x.device).expand_as(real)
    lengths = torch.where(real, positions, torch.zeros_like(positions)).amax(dim=1).clamp(min=1)
    mask = positions <= lengths[:, None]
    frames = (frames - module.mean) / module.std * mask[:, :, None].to(frames.dtype)
    return frames, mask, lengths


def _last_and_mean(out: Any, mask: Any, lengths: Any) -> tuple[Any, Any]:
    """The output at each row's last real step, and the mean output over its real steps."""
    index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, out.shape[2])
    last = out.gather(1, index).squeeze(1)
    weights = mask[:, :, None].to(out.dtype)
    return last, (out * weights).sum(dim=1) / lengths[:, None].to(out.dtype)


def build_rnn(layout: Any, cell: str, hidden: int, layers: int, bidirectional: bool, dropout: float, n_out: int,
              mean: list[float], std: list[float]) -> Any:
    import torch
    import torch.nn as nn

    kind = nn.LSTM if cell == "lstm" else nn.GRU

    class SequenceRNN(nn.Module):
        """A forward RNN and, when bidirectional, a second one over each row reversed within its length."""

        def __init__(self) -> None:
            super().__init__()
            self.steps, self.features = layout.steps, layout.features
            _hold_statistics(self, mean, std)
            inner_dropout = dropout if layers > 1 else 0.0
            self.forward_rnn = kind(layout.features, hidden, layers, batch_first=True, dropout=inner_dropout)
            self.backward_rnn = (kind(layout.features, hidden, layers, batch_first=True, dropout=inner_dropout)
                                 if bidirectional else None)
            width = 2 * hidden * (2 if bidirectional else 1)
            self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, n_out))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            frames, mask, lengths = _frames_and_mask(self, x)
            out, _ = self.forward_rnn(frames)
            parts = list(_last_and_mean(out, mask, lengths))
            if self.backward_rnn is not None:
                steps = torch.arange(self.steps, device=x.device).expand_as(mask)
                reverse = torch.where(mask, lengths[:, None] - 1 - steps, steps)
                reversed_frames = frames.gather(1, reverse[:, :, None].expand(-1, -1, self.features))
                out, _ = self.backward_rnn(reversed_frames)
                parts += list(_last_and_mean(out, mask, lengths))
            return self.head(torch.cat(parts, dim=1))

    return SequenceRNN()


def build_cnn1d(layout: Any, width: int, depth: int, kernel_size: int, dropout: float, pool_from: int, n_out: int,
                mean: list[float], std: list[float]) -> Any:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    blocks, pools = nn.ModuleList(), []
    channels, length = layout.features, layout.steps
    for i in range(depth):
        out = width * 2 ** min(i, 2)
        blocks.append(nn.Sequential(nn.Conv1d(channels, out, kernel_size, padding=kernel_size // 2, bias=False),
                                    nn.BatchNorm1d(out), nn.ReLU(inplace=True)))
        pool = i < depth - 1 and length >= pool_from
        pools.append(pool)
        channels, length = out, length // 2 if pool else length

    class SequenceCNN(nn.Module):
        """Conv1d blocks over time; padding re-zeroed after each block; masked mean and max pooling."""

        def __init__(self) -> None:
            super().__init__()
            self.steps, self.features = layout.steps, layout.features
            _hold_statistics(self, mean, std)
            self.blocks = blocks
            self.pools = pools
            self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * channels, n_out))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            frames, mask, lengths = _frames_and_mask(self, x)
            h = frames.transpose(1, 2)  # (n, F, T)
            keep = mask[:, None, :].to(h.dtype)
            for block, pool in zip(self.blocks, self.pools, strict=True):
                h = block(h) * keep
                if pool:
                    h = F.max_pool1d(h, 2)
                    keep = F.max_pool1d(keep, 2)
            count = keep.sum(dim=2).clamp(min=1.0)
            mean_pooled = h.sum(dim=2) / count
            max_pooled = torch.where(keep > 0, h, torch.full_like(h, -1e4)).amax(dim=2)
            return self.head(torch.cat([mean_pooled, max_pooled], dim=1))

    return SequenceCNN()
