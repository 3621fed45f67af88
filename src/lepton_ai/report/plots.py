"""The report's figures as inline PNG data URIs: frontier, learning curves, confusion matrix, residuals.

matplotlib is imported here only, through its object API (``Figure``, never ``pyplot``), so making a
report neither slows ``import lepton_ai`` nor changes the backend of a user's notebook. Text from
the data (class labels) goes through :func:`short_label`, which escapes ``$`` so that a label is
drawn as written and never parsed as a formula.
"""

from __future__ import annotations

import base64
import functools
import io
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

from ..search.trial import TrialResult

__all__ = ["frontier_plot", "learning_curves_plot", "confusion_plot", "residual_plot", "short_label"]

_MAX_CURVES = 8
_MAX_POINTS = 5000
_LABEL_CHARS = 18
F = TypeVar("F", bound=Callable[..., Any])


def short_label(text: Any, width: int = _LABEL_CHARS) -> str:
    """``text`` cut to ``width`` characters with an ellipsis and ``$`` escaped, for matplotlib text."""
    text = str(text)
    text = text if len(text) <= width else text[: width - 1] + "…"
    return text.replace("$", r"\$")


def _drawing(func: F) -> F:
    """Run a plot function without the warnings about glyphs the default font lacks (CJK or emoji in
    a label are drawn as boxes: a look, not an error)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@_drawing
def frontier_plot(trials: Sequence[TrialResult], frontier: set[str], chosen: str | None) -> str | None:
    """Dev metric against single-row p50 latency (log scale); marker area grows with training $.

    Frontier trials are blue, the rest grey, the chosen one a red star. ``None`` without a finished trial.
    """
    ok = [t for t in trials if t.ok and t.latency_p50_ms is not None]
    if not ok:
        return None
    fig = _figure(6.4, 4.0)
    ax = fig.add_subplot()
    cost = np.asarray([t.train_cost_usd or 0.0 for t in ok])
    sizes = 25 + 400 * np.sqrt(cost / cost.max()) if cost.max() > 0 else np.full(len(ok), 60.0)
    for on_front, colour, name in ((False, "#9aa0a6", "other trials"), (True, "#1f6fd1", "frontier")):
        index = [i for i, t in enumerate(ok) if (t.trial_id in frontier) == on_front]
        if index:
            ax.scatter([ok[i].latency_p50_ms for i in index], [ok[i].dev_metric for i in index],
                       s=sizes[index], c=colour, alpha=0.7, edgecolors="white", linewidths=0.5, label=name)
    for t in ok:
        if t.trial_id == chosen:
            ax.scatter([t.latency_p50_ms], [t.dev_metric], s=260, marker="*", c="#d93025", edgecolors="black",
                       linewidths=0.6, label=short_label(f"chosen ({t.trial_id} {t.family})", 40), zorder=5)
            ax.annotate(short_label(t.trial_id), (t.latency_p50_ms, t.dev_metric), textcoords="offset points",
                        xytext=(8, 6), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("single-row latency p50 (ms, log scale)")
    ax.set_ylabel(f"dev {ok[0].metric_name}")
    ax.set_title(r"frontier: metric vs latency (marker area = training \$)", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="best", markerscale=0.6)
    return _encode(fig)


@_drawing
def learning_curves_plot(trials: Sequence[TrialResult], chosen: str | None, frontier: set[str]) -> str | None:
    """Train (dashed) and dev (solid) loss per epoch of up to 8 neural trials: the chosen one, the
    frontier, then the best. ``None`` when no trial recorded a history."""
    with_history = [t for t in trials if t.history]
    if not with_history:
        return None
    with_history.sort(key=lambda t: (t.trial_id != chosen, t.trial_id not in frontier, -(t.dev_metric or -1e9)))
    fig = _figure(6.4, 3.8)
    ax = fig.add_subplot()
    colours = [f"C{i}" for i in range(10)]
    for colour, t in zip(colours, with_history[:_MAX_CURVES], strict=False):
        history = t.history
        epochs = [h.get("epoch", i + 1) for i, h in enumerate(history)]
        name = short_label(f"{t.trial_id} {t.family}", 24)
        for key, style in (("dev_loss", "-"), ("train_loss", "--")):
            values = [h.get(key) for h in history]
            if any(v is not None for v in values):
                ax.plot(epochs, [np.nan if v is None else v for v in values], style, color=colour, linewidth=1.4,
                        label=f"{name} {key.split('_')[0]}", marker="o" if len(epochs) < 3 else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    title = "learning curves (solid: dev loss, dashed: train loss)"
    if len(with_history) > _MAX_CURVES:
        title += f"; {_MAX_CURVES} of {len(with_history)} trials"
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.25)
    ax.legend(fontsize=7, ncol=2, loc="best")
    return _encode(fig)


@_drawing
def confusion_plot(labels: Sequence[Any], matrix: Sequence[Sequence[int]]) -> str:
    """Counts of true (rows) against predicted (columns) classes, shaded by share of the true class."""
    counts = np.asarray(matrix, dtype=float)
    k = len(labels)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    side = min(9.0, 2.6 + 0.45 * k)
    fig = _figure(side + 1.0, side)
    ax = fig.add_subplot()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    if k <= 30:
        names = [short_label(name) for name in labels]
        ax.set_xticks(range(k), names, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(k), names, fontsize=8)
    if k <= 15:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix", fontsize=10)
    return _encode(fig)


@_drawing
def importance_plot(columns: Sequence[str], importance: Sequence[float], spread: Sequence[float],
                    metric: str) -> str:
    """Permutation importance of the input columns, largest on top, with one standard deviation."""
    shown = min(len(columns), _MAX_IMPORTANCE_BARS)
    fig = _figure(7.5, 1.0 + 0.28 * shown)
    ax = fig.add_subplot()
    rows = np.arange(shown)[::-1]
    ax.barh(rows, list(importance)[:shown], xerr=list(spread)[:shown], color="#1f6fd1", alpha=0.85,
            error_kw={"elinewidth": 1, "ecolor": "#444444"})
    ax.set_yticks(rows, [short_label(c) for c in list(columns)[:shown]], fontsize=8)
    ax.axvline(0.0, color="#888888", linewidth=0.8)
    ax.set_xlabel(f"drop in {metric} when the column is shuffled")
    ax.set_title("which columns matter", fontsize=10)
    ax.grid(True, axis="x", alpha=0.25)
    return _encode(fig)


@_drawing
def residual_plot(y_true: np.ndarray, y_pred: np.ndarray) -> str:
    """Predicted against actual values (the diagonal is perfect) and residuals against predictions."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if len(y_true) > _MAX_POINTS:
        keep = np.random.default_rng(0).choice(len(y_true), _MAX_POINTS, replace=False)
        y_true, y_pred = y_true[keep], y_pred[keep]
    fig = _figure(9.6, 4.0)
    left, right = fig.subplots(1, 2)
    low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    left.scatter(y_true, y_pred, s=8, alpha=0.5, c="#1f6fd1", edgecolors="none")
    left.plot([low, high], [low, high], color="#d93025", linewidth=1)
    left.set_xlabel("actual")
    left.set_ylabel("predicted")
    left.set_title("predicted vs actual", fontsize=10)
    residuals = y_true - y_pred
    right.scatter(y_pred, residuals, s=8, alpha=0.5, c="#1f6fd1", edgecolors="none")
    right.axhline(0.0, color="#d93025", linewidth=1)
    right.set_xlabel("predicted")
    right.set_ylabel("actual - predicted")
    right.set_title("residuals", fontsize=10)
    for ax in (left, right):
        ax.grid(True, alpha=0.25)
    return _encode(fig)


_MAX_IMPORTANCE_BARS = 25


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _encode(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
