"""Everything report.html shows, gathered from a trained (or failed) LeptonModel as plain values."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from ..errors import NotFittedError
from ..search.leaderboard import leaderboard_frame
from .leaderboard import COLUMNS, format_metrics, format_size, leaderboard_cells
from .machine import machine_info
from .plots import confusion_plot, frontier_plot, importance_plot, learning_curves_plot, residual_plot
from .reproduce import api_call
from .summary import summarize_dataset

__all__ = ["report_context"]


def report_context(model: Any, *, data: Any = None, data_summary: dict[str, Any] | None = None,
                   command: str | None = None) -> dict[str, Any]:
    """The template's values for ``model`` (a LeptonModel whose search ran, even if every trial failed).

    ``data`` (labelled) adds the evaluation: metrics, confusion matrix and per-class scores, or the
    residual plots for regression. ``data_summary`` describes the training data (default: the one
    recorded by ``LeptonModel.train``). ``command`` is the command line that reproduces the run;
    without it the report shows the Python call recorded by ``train``.
    """
    result = model.result_
    if result is None:
        raise NotFittedError("this LeptonModel is not trained yet; call train(...) before report(...).")
    chosen_id = model.chosen_
    board = leaderboard_frame(result.trials, chosen_id)
    frontier = set(board.loc[board["frontier"], "trial"]) if len(board) else set()
    metric = result.trials[0].metric_name if result.trials else "metric"
    rows = []
    for row in board.itertuples(index=False):
        cells: dict[str, Any] = leaderboard_cells(row)
        cells.update(chosen=bool(row.chosen), frontier=bool(row.frontier), fidelity=f"{row.fidelity:.0%}")
        rows.append(cells)
    context: dict[str, Any] = {
        "title": f"lepton-ai report: {result.schema.label} ({result.schema.task})",
        "created": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "run": _run_facts(model, result, metric),
        "failures": _failures(result.trials),
        "all_failed": not any(t.ok for t in result.trials),
        "columns": [(key, heading.format(metric=metric), right) for key, heading, right in COLUMNS],
        "leaderboard": rows,
        "frontier_plot": frontier_plot(result.trials, frontier, chosen_id),
        "curves_plot": learning_curves_plot(result.trials, chosen_id, frontier),
        "data": data_summary if data_summary is not None else getattr(model, "data_summary_", None),
        "evaluation": _evaluation(model, data) if data is not None and chosen_id is not None else None,
        "machine": machine_info(),
        "command": command,
        "api_call": None,
    }
    if command is None and getattr(model, "train_call_", None):
        context["api_call"] = api_call(*model.train_call_)
    return context


def _run_facts(model: Any, result: Any, metric: str) -> dict[str, Any]:
    trials = result.trials
    spent = sum(t.train_cost_usd or 0.0 for t in trials)
    facts: dict[str, Any] = {
        "run_id": result.run_id, "task": result.schema.task, "label": result.schema.label, "metric": metric,
        "objective": model.objective, "budget_s": result.budget_s, "wall_s": result.wall_s,
        "n_trials": len(trials), "n_ok": sum(t.ok for t in trials),
        "n_failed": sum(t.status == "failed" for t in trials), "n_skipped": sum(t.status == "skipped" for t in trials),
        "train_cost_usd": spent, "n_train": result.extra.get("n_train"), "n_dev": result.extra.get("n_dev"),
        "source": result.extra.get("source"), "price_per_core_hour": result.price_per_core_hour,
        "chosen": None,
    }
    if model.chosen_ is not None:
        t = result.trial(model.chosen_)
        facts["chosen"] = {"trial": t.trial_id, "family": t.family, "metric": f"{t.dev_metric:.4f}",
                           "p50_ms": f"{t.latency_p50_ms:.3f}", "size": format_size(t.size_bytes),
                           "params": ", ".join(f"{k}={v}" for k, v in t.params.items())}
    return facts


def _failures(trials: list[Any]) -> list[dict[str, str]]:
    return [{"trial": t.trial_id, "family": t.family, "status": t.status, "error": str(t.error or "no error recorded"),
             "traceback": t.traceback or ""} for t in trials if t.status == "failed"]


def _evaluation(model: Any, data: Any) -> dict[str, Any]:
    """Metrics of the chosen model on ``data``, with the task's figures and the data's own summary."""
    from ..data.coerce import to_input

    dataset = to_input(data, model.schema)
    report = model.evaluate(dataset)
    out: dict[str, Any] = {"source": dataset.source, "summary": summarize_dataset(dataset),
                           "metrics": format_metrics(report), "per_class": None, "plot": None,
                           "importance": _importance(model, dataset)}
    if "confusion_matrix" in report:
        cm = report["confusion_matrix"]
        out["plot"] = confusion_plot(cm["labels"], cm["matrix"])
        out["per_class"] = [{"label": label, **scores} for label, scores in report["per_class"].items()]
        return out
    assert dataset.y is not None  # evaluate() refused unlabelled data
    y = np.asarray(dataset.y, dtype=float)
    keep = np.isfinite(y)
    out["plot"] = residual_plot(y[keep], model.predict(dataset.subset(np.flatnonzero(keep))))
    return out


def _importance(model: Any, dataset: Any) -> dict[str, Any] | None:
    """Which input columns matter to the chosen model on the evaluation data (``feature_importance``:
    3 shuffles of each column over at most 2,000 rows); ``None`` for images and sequences."""
    if model.schema.modality not in ("tabular", "text"):
        return None
    table = model.feature_importance(dataset, repeats=_IMPORTANCE_REPEATS, max_rows=_IMPORTANCE_ROWS)
    return {"plot": importance_plot(list(table["column"]), list(table["importance"]), list(table["std"]),
                                    table.attrs["metric"]),
            "metric": table.attrs["metric"], "baseline": table.attrs["baseline"], "rows": table.attrs["rows"],
            "repeats": table.attrs["repeats"],
            "columns": [{"column": r.column, "importance": r.importance, "std": r.std}
                        for r in table.itertuples(index=False)]}


_IMPORTANCE_REPEATS, _IMPORTANCE_ROWS = 3, 2_000
