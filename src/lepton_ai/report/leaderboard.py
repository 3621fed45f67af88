"""The leaderboard in a terminal: one row per trial, frontier rows marked, the chosen row highlighted."""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["leaderboard_table", "leaderboard_cells", "format_metrics", "format_size", "COLUMNS"]

# (key of leaderboard_cells, heading, right-aligned); the metric heading gets the metric's name.
# p50/p99 and rows/s are end to end (raw rows to labels); "model p50" is the model alone.
COLUMNS = (("trial", "trial", False), ("family", "family", False), ("params", "params", False),
           ("metric", "dev {metric}", True), ("fit_s", "fit s", True), ("train_usd", "train $", True),
           ("p50_ms", "p50 ms", True), ("p99_ms", "p99 ms", True), ("model_p50_ms", "model p50 ms", True),
           ("rows_per_s", "rows/s", True),
           ("per_million_usd", "$/M rows", True), ("size", "size", True))


def leaderboard_cells(row: Any) -> dict[str, str]:
    """Display strings of one ``LeptonModel.leaderboard()`` row (a namedtuple from ``itertuples``).

    A failed or skipped trial shows its status in the metric column and its error in ``error``.
    """
    ok = row.status == "ok" and not pd.isna(row.dev_metric)
    cells = {
        "trial": str(row.trial), "family": str(row.family), "params": str(row.params), "status": str(row.status),
        "metric": f"{row.dev_metric:.4f}" if ok else str(row.status), "fit_s": _num(row.fit_s, "{:.2f}"),
        "train_usd": _num(row.train_cost_usd, "{:.2e}"), "p50_ms": _num(row.latency_p50_ms, "{:.3f}"),
        "p99_ms": _num(row.latency_p99_ms, "{:.3f}"), "rows_per_s": _num(row.rows_per_s, "{:,.0f}"),
        "model_p50_ms": _num(row.model_p50_ms, "{:.3f}"),
        "per_million_usd": _num(row.infer_cost_per_million_usd, "{:.2e}"),
        "size": format_size(row.size_bytes) if ok else "", "error": "" if ok else str(row.error or ""),
    }
    if not ok:
        cells["train_usd"] = ""
    return cells


def leaderboard_table(board: pd.DataFrame, title: str = "leaderboard", max_rows: int | None = None) -> Any:
    """A rich Table of ``LeptonModel.leaderboard()``; ``*`` marks the frontier, ``>`` the chosen row.

    With ``max_rows``, the best rows are shown (frontier and chosen rows always) and a caption
    counts the rest. Cells are plain text: brackets in parameters or errors are not rich markup.
    """
    from rich.table import Table
    from rich.text import Text

    metric = str(board["metric"].iloc[0]) if len(board) else "metric"
    hidden = 0
    if max_rows is not None and len(board) > max_rows:
        keep = board["frontier"] | board["chosen"]
        keep |= pd.Series(range(len(board)), index=board.index) < max(0, max_rows - int(keep.sum()))
        hidden = int((~keep).sum())
        board = board[keep]
    table = Table(title=title, header_style="bold",
                  caption=f"... and {hidden} more trials (lepton runs show RUN lists them all)" if hidden else None)
    table.add_column("", justify="left")
    for _, heading, right in COLUMNS:
        table.add_column(heading.format(metric=metric), justify="right" if right else "left", overflow="fold")
    for row in board.itertuples(index=False):
        cells = leaderboard_cells(row)
        mark = (">" if row.chosen else " ") + ("*" if row.frontier else " ")
        values = [cells[key] for key, _, _ in COLUMNS]
        values[2] = _short(values[2])
        if cells["error"]:
            values[-1] = _short(cells["error"], 40)
            table.add_row(*(Text(v) for v in (mark, *values)), style="dim")
            continue
        table.add_row(*(Text(v) for v in (mark, *values)), style="bold green" if row.chosen else None)
    return table


def format_metrics(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The scalar metrics of an evaluation report as (name, value) pairs for display."""
    return [(k, f"{v:.4f}" if isinstance(v, float) else str(v))
            for k, v in report.items() if isinstance(v, (int, float, str)) and k != "task"]


def format_size(n: Any) -> str:
    """Bytes as ``512 B``, ``12.3 KB``, ``4.5 MB`` (powers of 1000); empty for a missing value."""
    if n is None or pd.isna(n):
        return ""
    n = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def _num(value: Any, fmt: str) -> str:
    return "" if value is None or pd.isna(value) else fmt.format(value)


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
