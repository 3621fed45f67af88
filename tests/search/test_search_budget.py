import pytest

from lepton_ai.errors import ConfigError
from lepton_ai.search.budget import BudgetPlan, SearchBudget, parse_budget


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600), ("90", 90), (12, 12),
                                               ("2.5 min", 150)])
def test_seconds(text, seconds):
    assert parse_budget(text).to_seconds(1.0) == seconds


def test_dollars_buy_seconds_at_the_node_price():
    budget = parse_budget("$0.01")
    assert budget == SearchBudget(dollars=0.01)
    assert budget.to_seconds(0.001) == pytest.approx(10.0)
    assert str(budget) == "$0.01"


@pytest.mark.parametrize("bad", ["", "soon", "-5s", "0s", "$", "$-1", "10 parsecs", 0, -3])
def test_bad_budgets_are_config_errors(bad):
    with pytest.raises(ConfigError, match="budget"):
        parse_budget(bad)


# ---- BudgetPlan: every slice of a budget, from the total --------------------------------------


def test_a_plan_without_compression_gives_the_engine_everything():
    plan = BudgetPlan.for_budget(60.0)
    assert plan.total_s == plan.search_s == 60.0 and plan.compress_s == 0.0
    assert plan.selection_s == pytest.approx(1.0)        # min(1 s, 2% of 60 s)
    assert plan.refit_max_s == pytest.approx(12.0)       # a fifth of the search
    assert plan.stop_margin_s == pytest.approx(0.5)


@pytest.mark.parametrize(("total_s", "compress_s"), [(60.0, 3.6), (10.0, 1.0), (12.0, 1.0), (200.0, 6.0),
                                                     (1000.0, 6.0), (9.99, 0.0), (1.0, 0.0)])
def test_compression_gets_six_percent_between_one_and_six_seconds_and_nothing_under_ten(total_s, compress_s):
    plan = BudgetPlan.for_budget(total_s, compress=True)
    assert plan.compress_s == pytest.approx(compress_s)
    assert plan.search_s == pytest.approx(total_s - compress_s)


def test_the_engine_slices_are_shares_of_the_search_not_of_the_total():
    plan = BudgetPlan.for_budget(30.0, compress=True)    # 1.8 s for compression
    assert plan.search_s == pytest.approx(28.2)
    assert plan.selection_s == pytest.approx(0.564)      # 2% of 28.2 s, under the 1 s cap
    assert plan.refit_max_s == pytest.approx(5.64)


def test_a_short_budget_keeps_a_small_selection_reserve():
    plan = BudgetPlan.for_budget(2.0)
    assert plan.selection_s == pytest.approx(0.04) and plan.stop_margin_s == pytest.approx(0.02)


def test_the_refit_reserve_is_the_slowest_refit_or_their_share_plus_the_selection_margin_capped():
    plan = BudgetPlan.for_budget(100.0)                  # selection 1 s, refits at most 20 s
    assert plan.refit_reserve_s([], 2) == 0.0
    assert plan.refit_reserve_s([3.0, 1.0], 2) == pytest.approx(4.0)             # the slowest, 3 s, + 1 s
    assert plan.refit_reserve_s([3.0, 3.0, 3.0, 3.0], 1) == pytest.approx(13.0)  # all on one worker, + 1 s
    assert plan.refit_reserve_s([50.0], 4) == pytest.approx(20.0)                # a fifth of the search at most


def test_trial_windows_and_limits():
    plan = BudgetPlan.for_budget(60.0)
    assert plan.fit_window_s(10.0) == pytest.approx(10.0 - 0.6)   # measuring comes after the fit
    assert plan.fit_window_s(0.1) == pytest.approx(0.05)          # never below a sliver
    assert plan.trial_limit_s(0.1) == pytest.approx(15.0)         # at least 15 s
    assert plan.trial_limit_s(2.0) == pytest.approx(40.0)         # 20 times the estimate
    assert plan.kill_grace_s == 5.0


def test_a_forced_trial_runs_at_most_the_budget_past_it_with_a_second_of_fitting_at_least():
    assert BudgetPlan.for_budget(0.01).forced_window_s(0.2) == pytest.approx(1.6)
    assert BudgetPlan.for_budget(3.0).forced_window_s(1.0) == pytest.approx(2.0)
    assert BudgetPlan.for_budget(3.0).forced_window_s(10.0) == pytest.approx(3.0)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_a_plan_needs_a_positive_budget(bad):
    with pytest.raises(ConfigError, match="budget must be positive"):
        BudgetPlan.for_budget(bad)
