"""Budgets: parse them (seconds ``"30s"``, ``"5m"``, ``"1h"``, ``90``, or dollars ``"$0.01"``), and
carve one into the slices a search spends (:class:`BudgetPlan`)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["SearchBudget", "parse_budget", "BudgetPlan"]

_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class SearchBudget:
    """A search budget in seconds, or in dollars turned into seconds by the node's price."""

    seconds: float | None = None
    dollars: float | None = None

    def to_seconds(self, dollars_per_second: float) -> float:
        """Wall seconds this budget buys on a node that costs ``dollars_per_second``."""
        if self.seconds is not None:
            return self.seconds
        assert self.dollars is not None
        return self.dollars / dollars_per_second

    def __str__(self) -> str:
        return f"${self.dollars:g}" if self.dollars is not None else f"{self.seconds:g}s"


def parse_budget(budget: str | float | int | SearchBudget) -> SearchBudget:
    """Return the budget that ``budget`` names; a bare number is seconds."""
    if isinstance(budget, SearchBudget):
        return budget
    if isinstance(budget, (int, float)) and not isinstance(budget, bool):
        if budget <= 0:
            raise ConfigError(f"budget must be positive. Got {budget!r}.")
        return SearchBudget(seconds=float(budget))
    text = str(budget).strip().lower()
    if text.startswith("$"):
        try:
            dollars = float(text[1:])
        except ValueError:
            dollars = -1.0
        if dollars <= 0:
            raise ConfigError(f"budget {budget!r}: a dollar budget looks like '$0.05'.")
        return SearchBudget(dollars=dollars)
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text)
    if not match or match.group(2) not in ("", *_UNITS):
        raise ConfigError(
            f"budget {budget!r} is not understood; use seconds like '30s', '5m', '1h' or dollars like '$0.05'."
        )
    seconds = float(match.group(1)) * _UNITS.get(match.group(2) or "s", 1.0)
    if seconds <= 0:
        raise ConfigError(f"budget must be positive. Got {budget!r}.")
    return SearchBudget(seconds=seconds)


# Every share of a budget a search keeps back, in one place (see BudgetPlan).
_MIN_TOTAL_TO_COMPRESS_S = 10.0     # under this, a budget's seconds are worth more to training than to a variant
_COMPRESS_SHARE, _COMPRESS_MIN_S, _COMPRESS_MAX_S = 0.06, 1.0, 6.0
_SELECTION_SHARE, _SELECTION_MAX_S = 0.02, 1.0
_REFIT_SHARE = 0.2
_STREAMED_REFIT_SHARE = 0.5         # a table bigger than memory: the refit reading every row is the final model
_MEASURE_S = 0.6                    # after a fit stops: scoring, timing and saving the model
_KILL_GRACE_S = 5.0
_HARD_TIMEOUT_FACTOR, _MIN_TRIAL_LIMIT_S = 20.0, 15.0
_MIN_FIT_WINDOW_S = 0.05


@dataclass(frozen=True)
class BudgetPlan:
    """How one budget is spent, slice by slice; made once from the total by :meth:`for_budget`.

    ``total_s = compress_s + search_s``. ``compress_s`` is kept for compressing the frontier after
    the search (``LeptonModel.train`` does; a bare engine search keeps nothing). Within ``search_s``
    the loop launches trials until ``selection_s`` plus the refit reserve (see
    :meth:`refit_reserve_s`, at most ``refit_max_s``) are left, stops what still runs
    ``selection_s / 2`` before the end, and leaves the rest of ``selection_s`` for choosing and
    saving. Each trial's fit stops ``measure_s`` before its window ends, so it can be scored, timed
    and saved; one that ignores its deadline (a hang) is killed ``kill_grace_s`` after that. A
    trial's own limit, whatever the budget, is :meth:`trial_limit_s`.
    """

    total_s: float
    compress_s: float
    selection_s: float
    refit_max_s: float
    measure_s: float = _MEASURE_S
    kill_grace_s: float = _KILL_GRACE_S
    hard_timeout_factor: float = _HARD_TIMEOUT_FACTOR
    min_trial_limit_s: float = _MIN_TRIAL_LIMIT_S

    @classmethod
    def for_budget(cls, total_s: float, *, compress: bool = False) -> BudgetPlan:
        """The plan for ``total_s`` seconds; ``compress``: the caller compresses the frontier afterwards.

        Compression gets 6% of the total, between 1 and 6 s, and nothing under 10 s; selection and
        saving get 2% of the search, at most 1 s; refits at most a fifth of the search.
        """
        if not total_s > 0:
            raise ConfigError(f"budget must be positive. Got {total_s!r} seconds.")
        compress_s = 0.0
        if compress and total_s >= _MIN_TOTAL_TO_COMPRESS_S:
            compress_s = min(max(_COMPRESS_SHARE * total_s, _COMPRESS_MIN_S), _COMPRESS_MAX_S)
        search_s = total_s - compress_s
        return cls(total_s=float(total_s), compress_s=compress_s,
                   selection_s=min(_SELECTION_MAX_S, _SELECTION_SHARE * search_s),
                   refit_max_s=_REFIT_SHARE * search_s)

    def for_streamed_table(self) -> BudgetPlan:
        """This plan for a search on a sample of a table bigger than memory: the refit that reads every
        row is the model a user gets, and may keep up to half the search back."""
        return dataclasses.replace(self, refit_max_s=_STREAMED_REFIT_SHARE * self.search_s)

    @property
    def search_s(self) -> float:
        """The engine's part: trials, the ensemble, refits, selection and saving."""
        return self.total_s - self.compress_s

    @property
    def stop_margin_s(self) -> float:
        """Trials still running this long before the end of the search are stopped."""
        return self.selection_s / 2

    def refit_reserve_s(self, refit_s: Sequence[float], n_slots: int) -> float:
        """What to keep back from new trials so the refits of today's candidates fit: the slowest
        refit, or all of them shared among ``n_slots`` workers, plus the selection margin; at most
        ``refit_max_s``. ``refit_s``: each candidate's estimated refit seconds, measuring included."""
        if not refit_s:
            return 0.0
        needed = max(max(refit_s), sum(refit_s) / max(1, n_slots)) + self.selection_s
        return min(self.refit_max_s, needed)

    def fit_window_s(self, remaining_s: float) -> float:
        """The seconds a trial may fit when ``remaining_s`` are left for it (measuring comes after)."""
        return max(_MIN_FIT_WINDOW_S, remaining_s - self.measure_s)

    def trial_limit_s(self, estimated_fit_s: float) -> float:
        """The longest any one trial may fit: ``hard_timeout_factor`` times its estimate, at least
        ``min_trial_limit_s`` (estimates are priors, often off by a few times, never by twenty)."""
        return max(self.min_trial_limit_s, self.hard_timeout_factor * estimated_fit_s)

    def forced_window_s(self, estimated_fit_s: float) -> float:
        """The window of the one trial a budget too small for any still runs: twice its estimate,
        past the budget by at most the search budget itself, and a second of fitting at least."""
        return max(1.0 + self.measure_s, min(2.0 * estimated_fit_s, self.search_s))
