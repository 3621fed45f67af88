"""Seeded splits into train/dev/test, stratified for classification where the data allows."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.model_selection import train_test_split

from ..errors import ConfigError, DataError
from .dataset import Dataset

__all__ = ["DEFAULT_SPLIT", "check_split", "split_dataset"]

DEFAULT_SPLIT = (0.7, 0.15, 0.15)


def check_split(split: tuple[float, ...]) -> tuple[float, ...]:
    """Validate split fractions: two or three positive numbers that sum to 1."""
    try:
        fractions = tuple(float(f) for f in split)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"split must be a tuple of fractions such as (0.8, 0.2). Got {split!r}.") from exc
    if len(fractions) not in (2, 3) or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ConfigError(
            f"split must be 2 or 3 positive fractions that sum to 1, e.g. (0.7, 0.15, 0.15). Got {split!r}."
        )
    return fractions


def split_dataset(data: Dataset, split: tuple[float, ...], seed: int) -> tuple[Dataset, ...]:
    """Split ``data`` by ``split`` fractions; the parts keep the order train, dev, test."""
    fractions = check_split(split)
    n = len(data)
    if n < len(fractions):
        raise DataError(f"{data.source}: {n} rows cannot be split into {len(fractions)} parts.")
    stratify = data.y if data.task == "classification" else None
    remaining = np.arange(n)
    parts: list[np.ndarray] = []
    left = 1.0
    for fraction in fractions[:0:-1]:  # carve the last parts off first
        share = fraction / left
        remaining, taken = _split_once(remaining, share, seed, None if stratify is None else stratify[remaining])
        parts.insert(0, taken)
        left -= fraction
    parts.insert(0, remaining)
    names = ("train", "dev", "test")[: len(parts)] if len(parts) == 3 else ("train", "dev")
    return tuple(data.subset(np.sort(p), f"{data.source}[{name}]") for p, name in zip(parts, names, strict=True))


def _split_once(
    index: np.ndarray, share: float, seed: int, stratify: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    n_taken = max(1, int(round(share * len(index))))
    if n_taken >= len(index):
        raise DataError(f"too few rows ({len(index)}) to split off a part of {share:.0%}.")
    if stratify is not None:
        _, counts = np.unique(stratify.astype(str), return_counts=True)
        if counts.min() >= 2 and n_taken >= len(counts) and len(index) - n_taken >= len(counts):
            kept, taken = train_test_split(index, test_size=n_taken, random_state=seed, stratify=stratify)
            return kept, taken
        warnings.warn(
            "some classes are too rare to stratify the split; splitting without stratification.",
            stacklevel=3,
        )
    kept, taken = train_test_split(index, test_size=n_taken, random_state=seed)
    return kept, taken
