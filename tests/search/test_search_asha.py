"""ASHA on its own: which row fractions the rungs train on, and which configurations move up."""

from __future__ import annotations

import pytest

from lepton_ai.search.asha import ETA, MIN_RUNG_ROWS, Rungs, rung_fractions


@pytest.mark.parametrize(("n_rows", "fractions"), [
    (100, [1.0]),
    (4_499, [1.0]),                       # a third would be under MIN_RUNG_ROWS: every trial trains on all rows
    (4_500, [1 / 3, 1.0]),                # a third is exactly MIN_RUNG_ROWS
    (13_499, [1 / 3, 1.0]),
    (13_500, [1 / 9, 1 / 3, 1.0]),        # a ninth is exactly MIN_RUNG_ROWS
    (10_000_000, [1 / 9, 1 / 3, 1.0]),    # never more than three rungs
])
def test_rung_fractions_by_data_size(n_rows, fractions):
    assert rung_fractions(n_rows) == pytest.approx(fractions)


def test_the_lowest_rung_keeps_enough_rows():
    assert (ETA, MIN_RUNG_ROWS) == (3, 1500)
    for n_rows in (4_500, 13_500, 40_000, 10**6):
        assert n_rows * rung_fractions(n_rows)[0] >= MIN_RUNG_ROWS


def test_nothing_moves_up_before_a_rung_has_eta_results():
    rungs = Rungs([1 / 3, 1.0])
    assert rungs.record(0, "a", 0.7) == []
    assert rungs.record(0, "b", 0.9) == []
    assert rungs.record(0, "c", 0.8) == ["b"]   # three results: the best third (one) moves up


def test_the_top_third_moves_up_each_once_best_first():
    rungs = Rungs([1 / 3, 1.0])
    due = [rungs.record(0, c, m) for c, m in [("a", 0.1), ("b", 0.6), ("c", 0.5), ("d", 0.2), ("e", 0.3)]]
    assert due == [[], [], ["b"], [], []]
    # Six results: the top two are b and c; b moved up already, so only c is due.
    assert rungs.record(0, "f", 0.05) == ["c"]
    assert rungs.promoted[0] == {"b", "c"}


def test_promotions_in_rank_order_when_several_become_due_at_once():
    rungs = Rungs([1 / 3, 1.0], eta=2)
    rungs.results[0] = {"a": 0.1, "b": 0.3, "c": 0.2}   # restored from an earlier run, no promotions yet
    assert rungs.record(0, "d", 0.4) == ["d", "b"]


def test_a_late_better_configuration_moves_up_as_soon_as_it_ranks():
    rungs = Rungs([1 / 3, 1.0])
    for config, metric in [("a", 0.5), ("b", 0.4), ("c", 0.3)]:
        rungs.record(0, config, metric)
    # Four results: one slot, held by d now; a keeps its place on the upper rung (no demotion).
    assert rungs.record(0, "d", 0.9) == ["d"]
    assert rungs.promoted[0] == {"a", "d"}


def test_failed_trials_do_not_count_towards_a_rung():
    rungs = Rungs([1 / 3, 1.0])
    assert rungs.record(0, "a", 0.5) == []
    assert rungs.record(0, "b", None) == []
    assert rungs.record(0, "c", None) == []
    assert rungs.results[0] == {"a": 0.5}
    assert rungs.record(0, "d", 0.1) == []
    assert rungs.record(0, "e", 0.2) == ["a"]


def test_ties_go_to_the_configuration_recorded_first():
    rungs = Rungs([1 / 3, 1.0])
    assert [rungs.record(0, c, 0.5) for c in ("x", "y", "z")] == [[], [], ["x"]]


def test_the_top_rung_promotes_nothing():
    rungs = Rungs([1 / 9, 1 / 3, 1.0])
    assert rungs.top == 2
    assert [rungs.record(2, c, 0.5) for c in "abcdef"] == [[]] * 6
    assert rungs.results[2] == dict.fromkeys("abcdef", 0.5)
    assert [rungs.record(1, c, m) for c, m in [("a", 0.1), ("b", 0.3), ("c", 0.2)]] == [[], [], ["b"]]


def test_a_single_rung_promotes_nothing():
    rungs = Rungs(rung_fractions(1000))
    assert rungs.top == 0
    assert [rungs.record(0, c, 0.5) for c in "abc"] == [[], [], []]
