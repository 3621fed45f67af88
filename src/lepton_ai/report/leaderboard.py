"""The leaderboard in a terminal: one row per trial, frontier rows marked, the chosen row highlighted."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["leaderboard_table", "format_metrics"]


def leaderboard_table(board: pd.DataFrame, title: str = "leaderboard", max_rows: int | None = None) -> Any:
    """A rich Table of ``LeptonModel.leaderboard()``; ``*`` marks the frontier, ``>`` the chosen row.

    With ``max_rows``, the best rows are shown (frontier and chosen rows always) and a caption
    counts the rest.
    """
    from rich.table import Table

    metric = str(board["metric"].iloc[0]) if len(board) else "metric"
    hidden = 0
    if max_rows is not None and len(board) > max_rows:
        keep = board["frontier"] | board["chosen"]
        keep |= pd.Series(range(len(board)), index=board.index) < max(0, max_rows - int(keep.sum()))
        hidden = int((~keep).sum())
        board = board[keep]
    table = Table(title=title, header_style="bold",
                  caption=f"... and {hidden} more trials (lepton runs show RUN lists them all)" if hidden else None)
    for name, justify in (("", "left"), ("trial", "left"), ("family", "left"), ("params", "left"),
                          (f"dev {metric}", "right"), ("fit s", "right"), ("train $", "right"),
                          ("p50 ms", "right"), ("p99 ms", "right"), ("rows/s", "right"),
                          ("$/M rows", "right"), ("size", "right")):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in board.itertuples(index=False):
        mark = (">" if row.chosen else " ") + ("*" if row.frontier else " ")
        if row.status != "ok":
            table.add_row(mark, row.trial, row.family, _short(row.params), row.status, _num(row.fit_s, "{:.2f}"),
                          "", "", "", "", "", _short(str(row.error), 40), style="dim")
            continue
        table.add_row(
            mark, row.trial, row.family, _short(row.params), f"{row.dev_metric:.4f}", f"{row.fit_s:.2f}",
            f"{row.train_cost_usd:.2e}", f"{row.latency_p50_ms:.3f}", f"{row.latency_p99_ms:.3f}",
            f"{row.rows_per_s:,.0f}", f"{row.infer_cost_per_million_usd:.2e}", _size(row.size_bytes),
            style="bold green" if row.chosen else None,
        )
    return table


def format_metrics(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The scalar metrics of an evaluation report as (name, value) pairs for display."""
    return [(k, f"{v:.4f}" if isinstance(v, float) else str(v))
            for k, v in report.items() if isinstance(v, (int, float, str)) and k != "task"]


def _num(value: Any, fmt: str) -> str:
    return "" if value is None or pd.isna(value) else fmt.format(value)


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _size(n: Any) -> str:
    n = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"
