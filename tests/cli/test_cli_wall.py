"""The command's clock: a time budget covers `lepton train` from the process start to its exit."""

from __future__ import annotations

import time

import pytest

from lepton_ai.cli.wall import AFTER_SEARCH_S, command_start, search_budget, since_start


def test_the_search_gets_what_start_up_left_less_what_comes_after():
    budget, note = search_budget("10s", started=time.monotonic() - 2.0)
    assert budget.seconds == pytest.approx(10 - 2.0 - AFTER_SEARCH_S, abs=0.05) and note is None


def test_a_small_budget_says_how_much_start_up_took():
    budget, note = search_budget("3s", started=time.monotonic() - 0.5)
    assert budget.seconds == pytest.approx(3 - 0.5 - AFTER_SEARCH_S, abs=0.05)
    assert note is not None and "start-up took 0.5s of the 3s budget" in note


def test_a_budget_start_up_has_spent_still_gets_a_short_search_and_says_when_it_ends():
    budget, note = search_budget("2s", started=time.monotonic() - 1.8)
    assert budget.seconds == 1.0
    assert note is not None and "too small for the whole command" in note
    assert f"ends after about {1.8 + 1.0 + AFTER_SEARCH_S:.0f}s" in note


def test_a_dollar_budget_is_the_searchs_alone():
    budget, note = search_budget("$0.01", started=time.monotonic() - 5)
    assert budget.dollars == 0.01 and budget.seconds is None and note is None


def test_the_process_clock_and_the_in_process_command_clock():
    assert 0.0 < since_start() < 24 * 3600  # this test process started a while ago
    before = time.monotonic()
    assert before <= command_start() <= time.monotonic()  # not under the `lepton` entry point: now
