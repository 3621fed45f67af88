import pytest

from lepton_ai.errors import ConfigError
from lepton_ai.search.budget import SearchBudget, parse_budget


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
