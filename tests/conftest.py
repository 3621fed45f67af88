"""Shared fixtures: small tables made in the test, so every test is fast and offline."""

from __future__ import annotations

import os
import tempfile
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from lepton_ai.models.base import Cost, Domain, ModelFamily
from lepton_ai.models.registry import FAMILIES

# Runs and the feature cache go to a scratch home, never the user's ~/.lepton.
os.environ["LEPTON_HOME"] = tempfile.mkdtemp(prefix="lepton-test-home-")


def make_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A mixed-type classification table: numeric, categorical, boolean columns, gaps, string labels."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    flag = rng.random(n) < 0.5
    score = x1 + 0.8 * x2 + (colour == "red") * 1.5 + flag * 0.5
    species = np.where(score > 1.0, "setosa", np.where(score > -0.5, "versicolor", "virginica"))
    frame = pd.DataFrame({"x1": x1, "x2": x2, "colour": colour, "flag": flag, "species": species})
    frame.loc[rng.choice(n, 10, replace=False), "x2"] = np.nan
    return frame


@pytest.fixture
def table() -> pd.DataFrame:
    return make_table()


@pytest.fixture
def table_csv(tmp_path, table) -> str:
    path = tmp_path / "data.csv"
    table.to_csv(path, index=False)
    return str(path)


class PlanOnlyFamily(ModelFamily):
    """A family the scheduler and the sampler can plan with but nothing trains: its prior cost is
    ``cost`` seconds per thousand rows, and its starting points and search space are class data."""

    name = "plan-only"
    points: ClassVar[list[dict[str, Any]]] = [{}]
    space: ClassVar[dict[str, Domain]] = {}

    def __init__(self, *, cost: float = 1.0, depth: int = 3, lr: float = 0.1, width: int = 16,
                 kind: str = "a") -> None:
        self.cost = cost
        self.depth = depth
        self.lr = lr
        self.width = width
        self.kind = kind

    def estimate_cost(self, n_rows: int, n_features: int) -> Cost:
        return Cost(fit_seconds=self.cost * n_rows / 1000, predict_ms_per_row=0.001, memory_bytes=1)

    @classmethod
    def search_space(cls, n_rows: int, n_features: int) -> dict[str, Domain]:
        return dict(cls.space)

    @classmethod
    def starting_points(cls, n_rows: int, n_features: int) -> list[dict[str, Any]]:
        return [dict(p) for p in cls.points]

    def fit(self, train, dev=None, *, budget=None):
        raise NotImplementedError("plan-only families never train")

    def _raw_predict(self, X):
        raise NotImplementedError("plan-only families never train")

    def _save_weights(self, directory):
        raise NotImplementedError("plan-only families never train")

    def _load_weights(self, directory, state):
        raise NotImplementedError("plan-only families never train")


@pytest.fixture
def plan_only_family(monkeypatch):
    """``register(name, points=[...], space={...})``: a PlanOnlyFamily under ``name`` for this test only."""

    def register(name: str, points: list[dict[str, Any]] | None = None,
                 space: dict[str, Domain] | None = None) -> type[ModelFamily]:
        cls = type(f"PlanOnly_{name}", (PlanOnlyFamily,),
                   {"name": name, "points": points if points is not None else [{}], "space": space or {}})
        monkeypatch.setitem(FAMILIES, name, cls)
        return cls

    return register
