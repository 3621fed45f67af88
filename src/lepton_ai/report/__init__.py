"""What a person sees: the leaderboard in a terminal (report.html is not built yet)."""

from .leaderboard import format_metrics, leaderboard_table

__all__ = ["format_metrics", "leaderboard_table"]
