"""Trained models for the report tests (small searches run in this process, one per module) and hostile data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from conftest import make_table
from lepton_ai import LeptonModel, SinglePointTechnique, load_data

HOSTILE_COLUMN = '<script>alert("col")</script>'
QUOTED_COLUMN = "col \"double\" & 'single' " + "very long " * 20
HOSTILE_LABELS = {"setosa": "<img src=x onerror=alert(1)>", "versicolor": 'a&b "q" \'s\' $x$',
                  "virginica": "日本語ラベル é " + "L" * 120}


def hostile_table(n: int = 300) -> pd.DataFrame:
    """make_table with column names and class labels that are HTML, quotes, dollars, non-ASCII, very long."""
    frame = make_table(n).rename(columns={"x1": HOSTILE_COLUMN, "colour": QUOTED_COLUMN})
    frame["species"] = frame["species"].map(HOSTILE_LABELS)
    return frame


def train_classifier():
    """(model, test split) trained on the hostile table, with an MLP so there are learning curves."""
    train, _dev, test = load_data(hostile_table(), label="species")
    engine = SinglePointTechnique(cluster="inline", families="linear,mlp", max_trials=4, budget="30s")
    model = LeptonModel(engine=engine, verbose=0).train(train, epochs=3)
    return model, test


def train_regressor():
    """(model, test split) of a linear regression whose label is named ``price <usd>``."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    frame["price <usd>"] = 3 * frame["a"] - frame["b"] + rng.normal(scale=0.1, size=300)
    train, _dev, test = load_data(frame, label="price <usd>")
    engine = SinglePointTechnique(cluster="inline", families="linear", max_trials=2, budget="30s")
    return LeptonModel(engine=engine, verbose=0).train(train), test
