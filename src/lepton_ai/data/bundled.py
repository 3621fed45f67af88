"""Datasets shipped inside installed packages, loadable by name with no download."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["BUNDLED", "BundledDataset", "load_bundled"]


@dataclass(frozen=True)
class BundledDataset:
    """A dataset that ships with scikit-learn: what it is and how to load it."""

    name: str
    task: str
    modality: str
    description: str
    loader: Callable[[], tuple[pd.DataFrame | np.ndarray, np.ndarray]]


def _table(loader_name: str) -> Callable[[], tuple[pd.DataFrame, np.ndarray]]:
    def load() -> tuple[pd.DataFrame, np.ndarray]:
        from sklearn import datasets

        bunch = getattr(datasets, loader_name)(as_frame=True)
        return bunch.data, bunch.target.to_numpy()

    return load


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.uint8), bunch.target


BUNDLED: dict[str, BundledDataset] = {
    d.name: d
    for d in (
        BundledDataset("breast_cancer", "classification", "tabular",
                       "569 tumours, 30 numeric features, 2 classes", _table("load_breast_cancer")),
        BundledDataset("wine", "classification", "tabular",
                       "178 wines, 13 numeric features, 3 classes", _table("load_wine")),
        BundledDataset("iris", "classification", "tabular",
                       "150 flowers, 4 numeric features, 3 classes", _table("load_iris")),
        BundledDataset("digits", "classification", "image",
                       "1797 handwritten digits, 8x8 grayscale images, 10 classes", _digits),
        BundledDataset("diabetes", "regression", "tabular",
                       "442 patients, 10 numeric features, disease progression", _table("load_diabetes")),
    )
}


def load_bundled(name: str) -> tuple[pd.DataFrame | np.ndarray, np.ndarray]:
    """Return ``(X, y)`` of the bundled dataset ``name``."""
    return BUNDLED[name].loader()
