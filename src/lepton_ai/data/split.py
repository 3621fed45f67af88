"""Seeded splits into train/dev/test, stratified for classification where the data allows."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from ..errors import ConfigError, DataError
from .dataset import Dataset

__all__ = ["DEFAULT_SPLIT", "check_split", "split_dataset"]

DEFAULT_SPLIT = (0.7, 0.15, 0.15)
_NAMED_IN_WARNING = 5


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
    """Split ``data`` by ``split`` fractions; the parts keep the order train, dev, test.

    Classification splits are stratified. A class expected to get under one row in the smallest
    part is named in one warning with its count and where its rows went, as is falling back to an
    unstratified split when some class has a single row left to share.
    """
    fractions = check_split(split)
    n = len(data)
    if n < len(fractions):
        raise DataError(f"{data.source}: {n} rows cannot be split into {len(fractions)} parts.")
    stratify = data.y if data.task == "classification" else None
    remaining = np.arange(n)
    parts: list[np.ndarray] = []
    left = 1.0
    unstratified = False
    for fraction in fractions[:0:-1]:  # carve the last parts off first
        share = fraction / left
        remaining, taken, stratified = _split_once(remaining, share, seed,
                                                   None if stratify is None else stratify[remaining])
        unstratified |= stratify is not None and not stratified
        parts.insert(0, taken)
        left -= fraction
    parts.insert(0, remaining)
    names = ("train", "dev", "test")[: len(parts)] if len(parts) == 3 else ("train", "dev")
    if stratify is not None:
        _warn_rare_classes(data.source, stratify, parts, names, min(fractions), unstratified)
    return tuple(data.subset(np.sort(p), f"{data.source}[{name}]") for p, name in zip(parts, names, strict=True))


def _split_once(
    index: np.ndarray, share: float, seed: int, stratify: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Carve ``share`` of ``index`` off; say whether the carve could be stratified."""
    n_taken = max(1, int(round(share * len(index))))
    if n_taken >= len(index):
        raise DataError(f"too few rows ({len(index)}) to split off a part of {share:.0%}.")
    if stratify is not None:
        _, counts = np.unique(stratify.astype(str), return_counts=True)
        if counts.min() >= 2 and n_taken >= len(counts) and len(index) - n_taken >= len(counts):
            kept, taken = train_test_split(index, test_size=n_taken, random_state=seed, stratify=stratify)
            return kept, taken, True
    kept, taken = train_test_split(index, test_size=n_taken, random_state=seed)
    return kept, taken, False


def _warn_rare_classes(source: str, y: np.ndarray, parts: list[np.ndarray], names: tuple[str, ...],
                       smallest: float, unstratified: bool) -> None:
    """One warning naming each class expected to get under one row in the smallest part."""
    counts = pd.Series(y).value_counts(sort=False)
    rare = [(c, int(k)) for c, k in zip(counts.index.tolist(), counts.tolist(), strict=True) if k * smallest < 1]
    in_part = [pd.Series(y[p]).value_counts().to_dict() for p in parts] if rare else []
    notes = []
    for name, count in rare[:_NAMED_IN_WARNING]:
        where = ", ".join(f"{part} {in_part[i].get(name, 0)}" for i, part in enumerate(names))
        notes.append(f"class {name!r} has only {count} row{'s' if count != 1 else ''} ({where})")
    if len(rare) > _NAMED_IN_WARNING:
        notes.append(f"and {len(rare) - _NAMED_IN_WARNING} more such classes")
    fallback = ("some classes are too rare to stratify the split, so it was drawn without stratification"
                if unstratified else "")
    if not notes and not fallback:
        return
    message = f"{source}: " + "; ".join(notes)
    if notes:
        message += (f": under one row of each is expected in a {smallest:.0%} part, so a part without it "
                    "cannot be scored on it, and the model sees few examples. Add rows of these classes, "
                    "merge or drop them")
    warnings.warn(message + (f"; {fallback}" if notes and fallback else fallback) + ".", UserWarning, stacklevel=4)
