"""What a person sees: progress while training, the leaderboard in a terminal, and report.html."""

from .html import check_report_path, render_report, write_report
from .leaderboard import format_metrics, leaderboard_table
from .progress import ProgressView, progress_callback

__all__ = ["format_metrics", "leaderboard_table", "ProgressView", "progress_callback", "write_report",
           "render_report", "check_report_path"]
