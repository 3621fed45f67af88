"""New configurations from Optuna's TPE sampler, through its ask/tell interface.

One study spans every family: ``family`` is a categorical parameter and each family's own ranges
(``ModelFamily.search_space``) are conditional on it, named ``<family>.<param>``. TPE with
``group=True`` models such conditional spaces, and ``constant_liar`` keeps parallel workers from
being handed the same region twice.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..models.base import Domain
from ..models.registry import get_family

__all__ = ["ConfigSampler"]


class ConfigSampler:
    """Ask for ``(number, family, params)``; tell the dev metric (or ``None`` for a failure)."""

    def __init__(self, families: list[str], n_rows: int, n_features: int, seed: int) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.families = families
        self.n_rows, self.n_features = n_rows, n_features
        self._spaces = {f: get_family(f).search_space(n_rows, n_features) for f in families}
        with warnings.catch_warnings():
            # multivariate/group are marked experimental; they are what models conditional spaces.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True, constant_liar=True,
                                                 n_startup_trials=8)
        self.study = optuna.create_study(direction="maximize", sampler=sampler)
        self._open: dict[int, Any] = {}

    def ask(self) -> tuple[int, str, dict[str, Any]]:
        trial = self.study.ask()
        family = trial.suggest_categorical("family", self.families)
        params = {name: _suggest(trial, f"{family}.{name}", domain) for name, domain in self._spaces[family].items()}
        self._open[trial.number] = trial
        return trial.number, family, params

    def tell(self, number: int, value: float | None) -> None:
        import optuna

        trial = self._open.pop(number, None)
        if trial is None:
            return
        if value is None:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, value)

    def add_finished(self, family: str, params: dict[str, Any], value: float | None) -> None:
        """Teach the sampler a configuration evaluated earlier (a resumed run's trials)."""
        import optuna

        space = self._spaces.get(family)
        if space is None or value is None:
            return
        distributions: dict[str, optuna.distributions.BaseDistribution] = {
            "family": optuna.distributions.CategoricalDistribution(self.families)
        }
        values: dict[str, Any] = {"family": family}
        for name, domain in space.items():
            if name in params:
                distributions[f"{family}.{name}"] = _distribution(domain)
                values[f"{family}.{name}"] = params[name]
        self.study.add_trial(optuna.trial.create_trial(params=values, distributions=distributions, value=value))


def _suggest(trial: Any, name: str, domain: Domain) -> Any:
    if domain.kind == "float":
        return trial.suggest_float(name, domain.low, domain.high, log=domain.log)
    if domain.kind == "int":
        return trial.suggest_int(name, int(domain.low or 0), int(domain.high or 0), log=domain.log)
    return trial.suggest_categorical(name, list(domain.choices))


def _distribution(domain: Domain) -> Any:
    import optuna

    if domain.kind == "float":
        assert domain.low is not None and domain.high is not None  # a float domain has both bounds
        return optuna.distributions.FloatDistribution(domain.low, domain.high, log=domain.log)
    if domain.kind == "int":
        return optuna.distributions.IntDistribution(int(domain.low or 0), int(domain.high or 0), log=domain.log)
    return optuna.distributions.CategoricalDistribution(list(domain.choices))
