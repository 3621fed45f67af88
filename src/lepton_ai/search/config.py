"""What one search is: its budget, families, seed, trial cap, patience, refit and epochs, as one value.

The node engine (``SinglePointTechnique``) decides where and how trials run (cores, workers,
memory, prices, home, cluster); a :class:`SearchConfig` says what the search is, and
``SinglePointTechnique.search`` takes it as one argument. Options a user gives in two places
(``LeptonModel(budget=...)`` and ``LeptonModel(engine=SinglePointTechnique(budget=...))``) meet in
:func:`merge_search_options`, the one rule for which value a search runs with.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from ..errors import ConfigError
from ..models.registry import resolve_families
from .budget import SearchBudget, parse_budget

__all__ = ["SearchConfig", "parse_search_options", "merge_search_options"]


@dataclass(frozen=True)
class SearchConfig:
    """What one search runs; every field has the default a search takes when nobody gives it.

    ``budget``: seconds or dollars (a dollar budget buys seconds at the node's price).
    ``families``: the families to search, ``None`` for every one that fits the data (named ones
    must fit it: a CNN asked for on a table is an error, not a silent omission). ``max_trials``
    caps the trials; ``patience`` ends the search after that many finished trials without an
    improvement beyond the dev set's noise. ``refit``: train the candidates a user may choose once
    more on train + dev at the end. ``epochs`` caps the epochs of neural families. ``compress``:
    the caller compresses the frontier after the search within the same budget
    (``LeptonModel.train`` does), so the search leaves that slice of it (:class:`BudgetPlan`).
    ``metric``: what ranks, ensembles and selects the candidates (``models.metrics``: ``"f1"``,
    ``"roc_auc"``, ``"rmse"``, ... or a ``make_metric``); ``None`` is accuracy or R².
    ``deterministic``: fits stop at their epoch and tree counts (and early stopping), never at a
    wall-clock deadline, and no timing picks a precision, so the same data, seed and threads give
    byte-identical models; a trial that runs past the end of the budget is then killed (failed)
    instead of cut short.

    Build one from user-style values (``"60s"``, ``"linear,gbdt"``) with :meth:`from_options`.
    """

    budget: SearchBudget = SearchBudget(seconds=60.0)
    families: tuple[str, ...] | None = None
    seed: int = 0
    max_trials: int | None = None
    patience: int = 40
    refit: bool = True
    epochs: int | None = None
    compress: bool = False
    deterministic: bool = False
    metric: Any = None  # a name in models.metrics.METRICS or a make_metric(...); None: accuracy or R²

    def __post_init__(self) -> None:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        missing = [name for name, value in values.items() if value is None and name not in _MAY_BE_NONE]
        if missing:
            raise ConfigError(f"SearchConfig: {', '.join(missing)} cannot be None; leave it out for its default.")
        for name, value in parse_search_options(**values).items():
            object.__setattr__(self, name, value)  # "60s" -> SearchBudget, "linear,gbdt" -> a tuple

    @classmethod
    def from_options(cls, **options: Any) -> SearchConfig:
        """A config from user-style values; an option that is ``None`` takes the default."""
        return cls(**parse_search_options(**options))

    def with_options(self, **options: Any) -> SearchConfig:
        """This config with the given (not ``None``) options replaced."""
        return replace(self, **parse_search_options(**options))


def parse_search_options(**options: Any) -> dict[str, Any]:
    """Check and normalise search options given as a user gives them, leaving out those that are
    ``None`` (not given): ``budget="60s"`` becomes a :class:`SearchBudget`, ``families="linear,gbdt"``
    a tuple of names. A bad or unknown option raises :class:`ConfigError` naming it."""
    known = {f.name for f in fields(SearchConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f"unknown search option(s) {', '.join(unknown)}. Options: {', '.join(sorted(known))}.")
    return {name: _PARSERS[name](name, value) for name, value in options.items() if value is not None}


def merge_search_options(given: Mapping[str, Mapping[str, Any]]) -> SearchConfig:
    """One search from options given in several places, ``{place: options}`` (for example
    ``{"LeptonModel": {...}, "SinglePointTechnique": {...}}``); ``None`` values count as not given.

    The rule: each option comes from wherever it was given, the default where nowhere; an option
    given in two places with different values (after parsing: ``"60s"`` equals ``60``) is a
    :class:`ConfigError` naming both, since neither can silently win.
    """
    chosen: dict[str, Any] = {}
    where: dict[str, str] = {}
    for place, options in given.items():
        for name, value in parse_search_options(**options).items():
            if name in chosen and chosen[name] != value:
                raise ConfigError(f"{name} is given twice with different values: {where[name]}({name}="
                                  f"{_shown(chosen[name])}) and {place}({name}={_shown(value)}). Give it in one place.")
            chosen[name], where[name] = value, place
    return SearchConfig(**chosen)


def _shown(value: Any) -> str:
    if isinstance(value, SearchBudget):
        return repr(str(value))
    if isinstance(value, tuple):
        return repr(",".join(value))
    return repr(value)


def _budget(name: str, value: Any) -> SearchBudget:
    return parse_budget(value)


def _families(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, (str, Sequence)):
        raise ConfigError(f"families must be a comma-separated string or a list of names. Got {value!r}.")
    return tuple(resolve_families(value if isinstance(value, str) else list(value)))


def _integer(name: str, value: Any, minimum: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or (minimum is not None and value < minimum):
        expected = "an int" if minimum is None else f"an int >= {minimum}"
        raise ConfigError(f"{name} must be {expected}. Got {value!r}.")
    return int(value)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, numbers.Integral)):
        raise ConfigError(f"{name} must be True or False. Got {value!r}.")
    return bool(value)


_MAY_BE_NONE = frozenset({"families", "max_trials", "epochs", "metric"})
_PARSERS = {
    "budget": _budget,
    "families": _families,
    "seed": lambda name, value: _integer(name, value, None),
    "max_trials": lambda name, value: _integer(name, value, 1),
    "patience": lambda name, value: _integer(name, value, 1),
    "refit": _flag,
    "epochs": lambda name, value: _integer(name, value, 1),
    "compress": _flag,
    "deterministic": _flag,
    "metric": lambda name, value: _metric(value),
}


def _metric(value: Any) -> Any:
    """A metric name known for some task, or a Metric (which task it fits is checked against the data)."""
    from ..models.metrics import METRICS, Metric

    if isinstance(value, Metric):
        return value
    if isinstance(value, str) and value in METRICS:
        return value
    if callable(value):
        raise ConfigError("a metric function needs its direction: pass make_metric(function, greater_is_better=...), "
                          "not the bare function.")
    raise ConfigError(f"unknown metric {value!r}; use one of: {', '.join(METRICS)}, or a make_metric(...) of your own.")
