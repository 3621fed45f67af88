"""The TPE sampler on its own: ask/tell over plan-only families' spaces, seeds, failures and resumes."""

from __future__ import annotations

import optuna
import pytest

from lepton_ai.models.base import Domain
from lepton_ai.search.sampler import ConfigSampler

SPACE = {
    "cost": Domain("float", 0.5, 2.0),
    "lr": Domain("float", 1e-4, 1.0, log=True),
    "depth": Domain("int", 2, 8),
    "width": Domain("int", 4, 512, log=True),
    "kind": Domain("choice", choices=("a", "b", "c")),
}


@pytest.fixture
def families(plan_only_family):
    plan_only_family("wide", space=SPACE)
    plan_only_family("tiny", space={"depth": Domain("int", 1, 3)})
    return ["wide", "tiny"]


def _asks(sampler, n, value=lambda family, params: 0.5):
    out = []
    for _ in range(n):
        number, family, params = sampler.ask()
        out.append((number, family, params))
        sampler.tell(number, value(family, params))
    return out


def test_each_ask_draws_a_family_and_only_its_parameters_within_their_domains(families):
    sampler = ConfigSampler(families, 1000, 4, seed=0)
    asks = _asks(sampler, 20)
    assert [number for number, _, _ in asks] == list(range(20))
    assert {family for _, family, _ in asks} == {"wide", "tiny"}
    for _, family, params in asks:
        if family == "tiny":
            assert params.keys() == {"depth"} and params["depth"] in (1, 2, 3)
            continue
        assert params.keys() == SPACE.keys()
        assert 0.5 <= params["cost"] <= 2.0
        assert 1e-4 <= params["lr"] <= 1.0
        assert isinstance(params["depth"], int) and 2 <= params["depth"] <= 8
        assert isinstance(params["width"], int) and 4 <= params["width"] <= 512
        assert params["kind"] in ("a", "b", "c")


@pytest.mark.parametrize(("domain", "middle"), [(Domain("float", 1e-6, 1.0, log=True), 1e-3),
                                              (Domain("int", 4, 1024, log=True), 64)])
def test_log_domains_are_drawn_on_a_log_scale(plan_only_family, domain, middle):
    plan_only_family("one", space={"lr": domain})
    sampler = ConfigSampler(["one"], 1000, 4, seed=0)
    draws = [sampler.ask()[2]["lr"] for _ in range(16)]   # never told: TPE keeps drawing at random
    # Half the log range lies under ``middle``; a uniform draw would land there 0.1% (float) or 6% (int)
    # of the time.
    assert sum(d < middle for d in draws) >= 4


def test_the_same_seed_draws_the_same_configurations(families):
    first = _asks(ConfigSampler(families, 1000, 4, seed=7), 12, value=lambda f, p: p.get("depth", 0) / 8)
    again = _asks(ConfigSampler(families, 1000, 4, seed=7), 12, value=lambda f, p: p.get("depth", 0) / 8)
    other = _asks(ConfigSampler(families, 1000, 4, seed=8), 12, value=lambda f, p: p.get("depth", 0) / 8)
    assert first == again
    assert first != other


def test_parallel_asks_get_distinct_trials(families):
    sampler = ConfigSampler(families, 1000, 4, seed=0)
    numbers = [sampler.ask()[0] for _ in range(4)]
    assert numbers == [0, 1, 2, 3]
    assert len(sampler.study.get_trials(states=(optuna.trial.TrialState.RUNNING,))) == 4


def test_a_failed_trial_is_told_as_a_failure(families):
    sampler = ConfigSampler(families, 1000, 4, seed=0)
    number, _, _ = sampler.ask()
    sampler.tell(number, None)
    (trial,) = sampler.study.get_trials()
    assert trial.state == optuna.trial.TrialState.FAIL and trial.value is None
    ok, _, _ = sampler.ask()
    sampler.tell(ok, 0.75)
    assert sampler.study.best_trial.number == ok and sampler.study.best_value == 0.75


def test_telling_twice_or_an_unknown_number_is_ignored(families):
    sampler = ConfigSampler(families, 1000, 4, seed=0)
    number, _, _ = sampler.ask()
    sampler.tell(number, 0.5)
    sampler.tell(number, 0.9)      # the first value stands
    sampler.tell(99, 0.9)
    (trial,) = sampler.study.get_trials()
    assert trial.value == 0.5


def test_tpe_maximises_what_it_is_told(plan_only_family):
    plan_only_family("good", space={"depth": Domain("int", 1, 3)})
    plan_only_family("bad", space={"depth": Domain("int", 1, 3)})
    sampler = ConfigSampler(["good", "bad"], 1000, 4, seed=0)
    asks = _asks(sampler, 30, value=lambda family, params: 0.9 if family == "good" else 0.1)
    later = [family for _, family, _ in asks[15:]]   # past the 8 random start-up trials
    assert later.count("good") >= 12


def test_resumed_trials_teach_the_sampler(families):
    sampler = ConfigSampler(families, 1000, 4, seed=0)
    sampler.add_finished("tiny", {"depth": 2}, 0.8)
    sampler.add_finished("tiny", {"depth": 3}, None)          # failed before the kill: nothing to learn
    sampler.add_finished("gone", {"depth": 3}, 0.9)           # a family no longer searched
    sampler.add_finished("wide", {"depth": 4, "kind": "b", "extra": 1}, 0.6)   # partial, with a stray key
    trials = sampler.study.get_trials()
    assert [(t.params, t.value) for t in trials] == [
        ({"family": "tiny", "tiny.depth": 2}, 0.8),
        ({"family": "wide", "wide.depth": 4, "wide.kind": "b"}, 0.6)]
    number, _, _ = sampler.ask()
    assert number == 2
