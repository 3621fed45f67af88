"""How a search ranks on awkward data: rare classes, one-row classes, constant features, a budget
too small for folds, a dev set given by the user."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from lepton_ai.engine.technique import SinglePointTechnique
from lepton_ai.errors import DataError


def _frame(counts: dict[str, int], seed: int = 0, constant: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.concatenate([[name] * n for name, n in counts.items()])
    X = rng.normal(size=(len(labels), 3)) + np.array([list(counts).index(v) for v in labels])[:, None]
    frame = pd.DataFrame(np.zeros_like(X) if constant else X, columns=["a", "b", "c"])
    frame["y"] = labels
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _search(frame, tmp_path, dev=None, budget="20s", families="linear,gbdt", max_trials=3):
    engine = SinglePointTechnique(budget=budget, families=families, max_trials=max_trials, refit=False,
                                  cluster="inline", home=tmp_path)
    return engine.search(frame, dev, label="y")


def test_a_class_too_rare_for_five_folds_gets_fewer_folds_and_a_warning_naming_it(tmp_path):
    frame = _frame({"common": 120, "other": 100, "scarce": 4})
    with pytest.warns(UserWarning, match="class 'scarce' has only 4 training rows: .* 4-fold cross-validation"):
        result = _search(frame, tmp_path)
    assert result.extra["validation"]["folds"] == 4
    ok = [t for t in result.trials if t.ok]
    assert ok and all(t.folds == 4 for t in ok if t.family != "ensemble")
    assert result.extra["n_rank"] == len(frame)  # every training row is ranked once


def test_a_one_row_class_turns_folds_off_with_a_warning_and_the_search_still_chooses(tmp_path):
    frame = _frame({"common": 120, "other": 100, "single": 1})
    with pytest.warns(UserWarning, match="class 'single' has only 1 training row"):
        result = _search(frame, tmp_path)
    assert result.extra["validation"]["folds"] == 0 and "single" in result.extra["validation"]["reason"]
    assert any(t.ok for t in result.trials)


def test_all_constant_features_are_a_clear_error_and_a_constant_column_beside_others_is_dropped(tmp_path):
    with pytest.raises(DataError, match="no usable feature column \\(a: constant; b: constant; c: constant\\)"):
        _search(_frame({"a": 80, "b": 40}, constant=True), tmp_path)
    frame = _frame({"a": 80, "b": 40})
    frame["c"] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cleaning report says the column carries nothing
        result = _search(frame, tmp_path)
    assert result.extra["validation"]["folds"] == 5 and any(t.ok for t in result.trials)


def test_a_budget_too_small_for_the_folds_ranks_on_the_dev_split_and_says_why(tmp_path):
    result = _search(_frame({"a": 100, "b": 100}), tmp_path, budget="1s", families="mlp", max_trials=1)
    validation = result.extra["validation"]
    assert validation["folds"] == 0 and "of the 1s budget" in validation["reason"]


def test_a_dev_set_the_user_gives_ranks_the_candidates(tmp_path):
    frame = _frame({"a": 100, "b": 100})
    result = _search(frame.iloc[:150], tmp_path, dev=frame.iloc[150:])
    assert result.extra["validation"] == {"folds": 0, "reason": "the dev set given ranks the candidates"}
    assert result.extra["n_rank"] == 50
    assert all(t.folds == 0 for t in result.trials)


def test_on_images_the_cnn_runs_first_and_the_cheap_families_after_it(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 240)
    images = rng.normal(60, 20, (240, 8, 8))
    images[y == 1, 2:6, 2:6] += 120  # a bright square marks class 1
    images = np.clip(images, 0, 255).astype(np.uint8)  # pixels, as image arrays come
    engine = SinglePointTechnique(budget="60s", families="linear,cnn", max_trials=3, refit=False, home=tmp_path)
    result = engine.search((images, y))
    assert result.schema.modality == "image"
    searched = sorted((t for t in result.trials if t.family != "ensemble"), key=lambda t: t.index)
    # Both CNN starting points, in their order, before the first linear model.
    assert [(t.family, t.origin) for t in searched] == [("cnn", "favoured"), ("cnn", "favoured"), ("linear", "first")]
    assert all(t.ok for t in searched)
