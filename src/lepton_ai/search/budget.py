"""Parse budgets: seconds (``"30s"``, ``"5m"``, ``"1h"``, ``90``) or dollars (``"$0.01"``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["SearchBudget", "parse_budget"]

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
