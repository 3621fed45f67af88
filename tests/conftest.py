"""Shared fixtures: small tables made in the test, so every test is fast and offline."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd
import pytest

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
