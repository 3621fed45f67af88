import pytest

from lepton_ai.errors import ConfigError
from lepton_ai.search.frontier import metric_noise, pareto_front, select_trial
from lepton_ai.search.trial import TrialResult


def trial(tid, metric, latency, train_cost=1e-6, size=1000, family="x", status="ok"):
    return TrialResult(trial_id=tid, index=0, family=family, params={}, status=status, dev_metric=metric,
                       latency_p50_ms=latency, infer_cost_per_million_usd=None if latency is None else latency * 1e-3,
                       train_cost_usd=train_cost, size_bytes=size)


TRIALS = [
    trial("slow_best", 0.98, 2.0, size=5_000_000),
    trial("mid", 0.978, 0.1, size=50_000),
    trial("fast", 0.90, 0.01, size=500),
    trial("dominated", 0.95, 3.0, train_cost=1.0, size=10_000_000),
    trial("failed", None, None, status="failed"),
]


def test_pareto_front_drops_dominated_and_failed():
    front = {t.trial_id for t in pareto_front(TRIALS)}
    assert front == {"slow_best", "mid", "fast"}


def test_accuracy_picks_best_metric():
    assert select_trial(TRIALS, "accuracy").trial_id == "slow_best"


def test_speed_picks_fastest_within_one_point():
    assert select_trial(TRIALS, "speed").trial_id == "mid"


def test_cost_picks_cheapest_inference_within_one_point():
    assert select_trial(TRIALS, "cost").trial_id == "mid"


def test_balanced_is_knee():
    # "mid" makes 10% more errors than "slow_best" and is 20x cheaper (worth 16% at 0.05 per log
    # unit); "fast" makes 5x the errors for 200x cheaper (worth 30%).
    assert select_trial(TRIALS, "balanced").trial_id == "mid"
    # The choice between two good models does not hang on a poor one being on the frontier.
    assert select_trial(TRIALS[:2], "balanced").trial_id == "mid"
    costly_mid = [trial("slow_best", 0.98, 2.0), trial("mid", 0.975, 0.1)]  # 25% more errors: not worth 20x
    assert select_trial(costly_mid, "balanced").trial_id == "slow_best"


def test_balanced_treats_gaps_within_noise_as_ties():
    trials = [trial("a", 1.0, 1.0), trial("b", 0.99, 0.01)]
    assert select_trial(trials, "balanced").trial_id == "a"
    assert select_trial(trials, "balanced", noise=metric_noise("classification", 1.0, 90)).trial_id == "b"


def test_limits_filter_before_choosing():
    assert select_trial(TRIALS, "accuracy", max_latency_ms=0.5).trial_id == "mid"
    assert select_trial(TRIALS, "accuracy", max_model_mb=0.001).trial_id == "fast"
    assert select_trial(TRIALS, "speed", min_metric=0.97).trial_id == "mid"


def test_infeasible_limit_lists_closest_candidates():
    with pytest.raises(ConfigError, match=r"max_latency_ms=0\.001.*Closest: fast"):
        select_trial(TRIALS, "accuracy", max_latency_ms=0.001)


def test_unknown_objective_lists_valid_ones():
    with pytest.raises(ConfigError, match="balanced, accuracy, speed, cost"):
        select_trial(TRIALS, "fastest")


def test_no_successful_trial_is_an_error():
    with pytest.raises(ConfigError, match="no trial finished"):
        select_trial([trial("f", None, None, status="failed")], "accuracy")


def test_metric_noise():
    assert metric_noise("classification", 1.0, 100) == pytest.approx(0.01)
    assert metric_noise("classification", 0.5, 100) == pytest.approx(0.05)
    assert metric_noise("regression", 0.9, 100) == pytest.approx(0.001)


def test_dev_losses_within_five_percent_do_not_break_a_tie():
    # Equal accuracy and inference costs within the factor-2 band: a 1.4% lower log-loss is chance,
    # so the smaller, earlier model stands; a 20% lower log-loss is a better fit.
    small = trial("t000", 0.98, 0.05, size=1_000)
    small.dev_loss = 0.0806
    large = trial("t005", 0.98, 0.09, size=50_000)
    large.dev_loss = 0.0795
    assert select_trial([small, large], "balanced").trial_id == "t000"
    assert select_trial([small, large], "accuracy").trial_id == "t000"
    large.dev_loss = 0.064
    assert select_trial([small, large], "balanced").trial_id == "t005"
    assert select_trial([small, large], "accuracy").trial_id == "t005"
