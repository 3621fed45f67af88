"""report.html: one self-contained file (inline CSS and PNG figures, no script, no network), from a
Jinja2 template with autoescaping on, so column names and class labels such as ``<script>`` are text."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..files import atomic_write_text
from .context import report_context

__all__ = ["write_report", "render_report", "check_report_path"]

_TEMPLATE = "report.html.j2"


def check_report_path(path: str | Path) -> Path:
    """Refuse a report path that cannot be written, before any work is done.

    The folder must exist and be writable and ``path`` must not be a folder; the message says which.
    """
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise ConfigError(f"report path {path}: is a folder; give a file name such as {path / 'report.html'}.")
    if not folder.is_dir():
        raise ConfigError(f"report path {path}: the folder {folder} does not exist. Create it or choose another path.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"report path {path}: the folder {folder} is not writable. Choose another path.")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"report path {path}: the file exists and is not writable. Choose another path.")
    return path


def render_report(context: dict[str, Any]) -> str:
    """The HTML text of a report from :func:`lepton_ai.report.context.report_context` values."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("lepton_ai.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template(_TEMPLATE).render(**context)


def write_report(path: str | Path, model: Any, *, data: Any = None, data_summary: dict[str, Any] | None = None,
                 command: str | None = None) -> Path:
    """Write the report of ``model`` to ``path`` (atomically) and return the path.

    See :func:`lepton_ai.report.context.report_context` for ``data``, ``data_summary`` and ``command``.
    """
    path = check_report_path(path)
    html = render_report(report_context(model, data=data, data_summary=data_summary, command=command))
    try:
        atomic_write_text(path, html)
        path.chmod(0o644)  # a page to open and share, not a private temporary file
    except OSError as exc:
        raise ConfigError(f"report path {path}: cannot write it ({exc.strerror or exc}).") from exc
    return path
