"""Folds or a dev split: when each is chosen, the folds themselves, and the early-stopping split."""

from __future__ import annotations

import numpy as np
import pytest

from lepton_ai.search.validation import (
    CV_MAX_ROWS,
    DEFAULT_FOLDS,
    EARLY_STOP_FRACTION,
    Validation,
    choose_validation,
    early_stop_split,
    fold_indices,
)


def _labels(counts):
    return np.concatenate([np.full(n, k) for k, n in enumerate(counts)])


def test_small_data_is_ranked_on_folds_large_data_on_its_dev_split():
    y = _labels([150, 150])
    small = choose_validation(300, "classification", y, dev_given=False, budget_s=10, first_fit_s=[0.01, 0.05])
    assert small.folds == DEFAULT_FOLDS and "cross-validation" in small.reason
    big = choose_validation(CV_MAX_ROWS, "classification", _labels([CV_MAX_ROWS // 2] * 2), dev_given=False,
                            budget_s=10, first_fit_s=[0.01])
    assert big.folds == 0 and "dev split" in big.reason


def test_a_dev_set_the_user_gives_ranks_and_folds_do_not_replace_it():
    chosen = choose_validation(300, "classification", _labels([150, 150]), dev_given=True, budget_s=60,
                               first_fit_s=[0.01])
    assert chosen.folds == 0 and "given" in chosen.reason


def test_folds_the_budget_cannot_pay_for_give_way_to_the_dev_split():
    # 5 folds x a typical first candidate of 2 s = 10 s, more than a third of a 10 s budget.
    chosen = choose_validation(300, "regression", np.arange(300.0), dev_given=False, budget_s=10,
                               first_fit_s=[0.01, 2.0, 3.0])
    assert chosen.folds == 0 and "would take ~10.0s of the 10s budget" in chosen.reason
    # One slow family does not cost the cheap ones their folds: the median counts, not the sum.
    assert choose_validation(300, "regression", np.arange(300.0), dev_given=False, budget_s=10,
                             first_fit_s=[0.01, 0.02, 30.0]).folds == DEFAULT_FOLDS


def test_a_class_rarer_than_the_folds_lowers_their_count_and_the_warning_names_it():
    y = _labels([100, 100, 3])
    with pytest.warns(UserWarning, match="class 'rare' has only 3 training rows: .* 3-fold cross-validation"):
        chosen = choose_validation(203, "classification", y, dev_given=False, budget_s=10, first_fit_s=[0.01],
                                   class_names=["a", "b", "rare"])
    assert chosen.folds == 3


def test_a_class_with_one_or_two_rows_turns_folds_off_with_a_warning_naming_it():
    for n in (1, 2):
        with pytest.warns(UserWarning, match=f"class 'solo' has only {n} training row"):
            chosen = choose_validation(200 + n, "classification", _labels([100, 100, n]), dev_given=False,
                                       budget_s=10, first_fit_s=[0.01], class_names=["a", "b", "solo"])
        assert chosen.folds == 0 and "solo" in chosen.reason


def test_the_folds_partition_the_rows_stratified_and_seeded():
    y = _labels([60, 30, 10])
    folds = fold_indices(y, "classification", 5, seed=3)
    rows = np.concatenate(folds)
    assert sorted(rows.tolist()) == list(range(100))  # every row held out exactly once
    for held in folds:
        assert np.bincount(y[held], minlength=3).tolist() == [12, 6, 2]  # each fold keeps the class shares
    again = fold_indices(y, "classification", 5, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again, strict=True))
    other = fold_indices(y, "classification", 5, seed=4)
    assert not all(np.array_equal(a, b) for a, b in zip(folds, other, strict=True))
    regression = fold_indices(np.linspace(0, 1, 101), "regression", 4, seed=0)
    assert sorted(np.concatenate(regression).tolist()) == list(range(101))


def test_early_stopping_rows_are_split_off_the_fold_rows_and_disjoint_from_them():
    y = _labels([50, 50])
    rows = np.arange(10, 90)
    fit, stop = early_stop_split(rows, y, "classification", seed=0)
    assert set(fit).isdisjoint(stop) and sorted([*fit, *stop]) == rows.tolist()
    assert len(stop) == pytest.approx(EARLY_STOP_FRACTION * len(rows), abs=1)


def test_rows_one_fold_trains_on_and_the_record_round_trip():
    cv = Validation(5, "5-fold")
    assert cv.fit_rows(1000) == int(1000 * 0.8 * (1 - EARLY_STOP_FRACTION))
    assert Validation(0, "dev").fit_rows(1000) == 1000
    assert Validation.from_json(cv.to_json()) == cv
    assert Validation.from_json(None).folds == 0  # a run recorded before folds existed ranked on dev
