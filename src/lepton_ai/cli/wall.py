"""The command's own clock: a time budget given to ``lepton train`` covers the whole command, from
the process start to its exit (imports, loading, scoring and saving included), so the search gets
what start-up left of it, less what comes after the search. Run in-process (a test, a notebook
calling the command's function) the clock starts when the command does.

Written here, not taken from a library: the process start time is one line of ``/proc/self/stat``
(Linux); elsewhere the clock starts when the CLI is imported, a few tens of milliseconds later.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the search package imports every stage before it: not at start-up (``lepton --help``)
    from ..search.budget import SearchBudget

__all__ = ["since_start", "mark_process_start", "command_start", "search_budget", "AFTER_SEARCH_S", "MIN_WHOLE_S"]

_IMPORTED = time.monotonic()
_process_start: float | None = None  # set by the console script's entry point (mark_process_start)
# What comes after the search: scoring the held-out rows, printing, saving the model, exiting.
AFTER_SEARCH_S = 0.9
# Under this, start-up and saving are a large part of the budget: the command says so.
MIN_WHOLE_S = 5.0
_MIN_SEARCH_S = 1.0


def since_start() -> float:
    """Seconds since this process started."""
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as uptime:
            up = float(uptime.read().split()[0])
        return max(0.0, up - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED


def mark_process_start() -> None:
    """The ``lepton`` entry point: the command's clock starts when this process did."""
    global _process_start
    _process_start = time.monotonic() - since_start()


def command_start() -> float:
    """``time.monotonic()`` at the start of the command: the process start under the ``lepton``
    entry point, else now (the command is run in-process)."""
    return _process_start if _process_start is not None else time.monotonic()


def search_budget(budget: str, started: float) -> tuple[SearchBudget, str | None]:
    """The search's share of a whole-command ``budget`` for a command that began at ``started``
    (``command_start()``), and a note for the user when the command cannot end within it. Dollar
    budgets are the search's alone (they buy compute, not wall time)."""
    from ..search.budget import SearchBudget, parse_budget

    whole = parse_budget(budget)
    if whole.seconds is None:
        return whole, None
    spent = time.monotonic() - started
    search_s = whole.seconds - spent - AFTER_SEARCH_S
    note = None
    if search_s < _MIN_SEARCH_S:
        search_s = _MIN_SEARCH_S
        ends = spent + search_s + AFTER_SEARCH_S
        note = (f"a budget of {whole.seconds:g}s is too small for the whole command: start-up took {spent:.1f}s, "
                f"so the search gets {search_s:g}s and the command ends after about {ends:.0f}s")
    elif whole.seconds < MIN_WHOLE_S:
        note = (f"start-up took {spent:.1f}s of the {whole.seconds:g}s budget; the search gets {search_s:.1f}s "
                f"(give {MIN_WHOLE_S:g}s or more for a real search)")
    return SearchBudget(seconds=round(search_s, 3)), note
