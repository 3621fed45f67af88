"""SearchConfig: what a search is, parsed once; options given in two places meet in one rule."""

from __future__ import annotations

import pytest

from lepton_ai.errors import ConfigError
from lepton_ai.search.budget import SearchBudget
from lepton_ai.search.config import SearchConfig, merge_search_options, parse_search_options


def test_defaults():
    config = SearchConfig()
    assert config.budget == SearchBudget(seconds=60.0) and config.families is None and config.seed == 0
    assert config.max_trials is None and config.patience == 40 and config.refit and config.epochs is None
    assert not config.compress


def test_user_style_values_are_parsed():
    config = SearchConfig.from_options(budget="2m", families="linear, gbdt", max_trials=5, seed=None)
    assert config.budget == SearchBudget(seconds=120.0)
    assert config.families == ("linear", "gbdt") and config.max_trials == 5 and config.seed == 0
    assert SearchConfig(budget="$0.5").budget == SearchBudget(dollars=0.5)  # type: ignore[arg-type]
    assert config.with_options(epochs=3, families=None).epochs == 3
    assert config.with_options(epochs=3).families == ("linear", "gbdt")


@pytest.mark.parametrize(("options", "message"), [
    ({"budget": "soon"}, "budget"), ({"families": "linear,nope"}, "nope"), ({"max_trials": 0}, "max_trials"),
    ({"patience": 2.5}, "patience must be an int >= 1. Got 2.5"), ({"epochs": True}, "epochs"),
    ({"seed": "one"}, "seed must be an int"), ({"refit": "yes"}, "refit must be True or False"),
    ({"budjet": "10s"}, "unknown search option.*budjet"),
])
def test_bad_options_are_config_errors_naming_the_option(options, message):
    with pytest.raises(ConfigError, match=message):
        parse_search_options(**options)


def test_a_required_field_cannot_be_none():
    with pytest.raises(ConfigError, match="budget cannot be None"):
        SearchConfig(budget=None)  # type: ignore[arg-type]


def test_each_option_comes_from_where_it_was_given():
    config = merge_search_options({"LeptonModel": {"budget": "30s", "seed": None},
                                   "SinglePointTechnique": {"families": "linear", "seed": 7}})
    assert config.budget == SearchBudget(seconds=30.0) and config.families == ("linear",) and config.seed == 7
    assert merge_search_options({"LeptonModel": {}, "SinglePointTechnique": {}}) == SearchConfig()


def test_the_same_value_given_twice_is_fine():
    config = merge_search_options({"LeptonModel": {"budget": "60s", "families": ["linear", "gbdt"]},
                                   "SinglePointTechnique": {"budget": 60, "families": "linear,gbdt"}})
    assert config.budget == SearchBudget(seconds=60.0) and config.families == ("linear", "gbdt")


def test_different_values_given_twice_name_both():
    with pytest.raises(ConfigError, match=r"budget is given twice.*LeptonModel\(budget='30s'\) and "
                                          r"SinglePointTechnique\(budget='60s'\)"):
        merge_search_options({"LeptonModel": {"budget": "30s"}, "SinglePointTechnique": {"budget": "60s"}})
    with pytest.raises(ConfigError, match=r"LeptonModel\(families='linear'\) and SinglePointTechnique\(families="
                                          r"'gbdt'\)"):
        merge_search_options({"LeptonModel": {"families": "linear"}, "SinglePointTechnique": {"families": "gbdt"}})
