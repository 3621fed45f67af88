"""A saved model shared by the deploy tests: a one-trial linear model on wine, as the store tests make it.

Not a conftest.py: ``from conftest import make_table`` elsewhere must keep finding tests/conftest.py.
Each test module wraps :func:`saved_wine_model` in its own fixture; the cache trains once a session.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from sklearn.datasets import load_wine

from lepton_ai import LeptonModel, save_model


def saved_wine_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model folder, trained and saved on the first call of the session."""
    return _train_and_save(tmp_path_factory.getbasetemp())


@functools.cache
def _train_and_save(session_temp: Path) -> Path:  # keyed by the session's temporary folder
    frame = load_wine(as_frame=True).frame
    model = LeptonModel(budget="10s", families="linear", max_trials=1, verbose=0).train(frame, label="target")
    return save_model(session_temp / "deploy-shared" / "wine-model", model)
