"""The leaderboard as a DataFrame: one row per trial, frontier and chosen rows marked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from .frontier import pareto_front
from .trial import TrialResult

__all__ = ["leaderboard_frame"]


def leaderboard_frame(trials: Sequence[TrialResult], chosen: str | None = None) -> pd.DataFrame:
    """Best dev metric first, failed and skipped trials last.

    Latencies and rows/s are end to end (raw rows in, decoded labels out: what ``predict`` costs);
    ``model_p50_ms`` is the model alone on prepared features.
    """
    front = {t.trial_id for t in pareto_front(trials)}
    frame = pd.DataFrame([_row(t, t.trial_id in front, t.trial_id == chosen) for t in trials])
    if frame.empty:
        return frame
    return frame.sort_values(["ok", "dev_metric"], ascending=[False, False], na_position="last") \
        .drop(columns="ok").reset_index(drop=True)


def _row(t: TrialResult, on_frontier: bool, chosen: bool) -> dict[str, Any]:
    return {
        "trial": t.trial_id,
        "family": t.family,
        "params": ", ".join([f"{k}={_short(v)}" for k, v in t.params.items()]
                            + ([f"class_weight={t.class_weight}"] if t.class_weight else [])),
        "fidelity": t.rung_fraction,
        "refit": t.refitted,   # trained again on train + dev at the end (engine.refit)
        "status": t.status,
        "metric": t.metric_name,
        "dev_metric": t.dev_metric,
        "fit_s": t.fit_s,
        "train_cost_usd": t.train_cost_usd,
        "latency_p50_ms": t.latency_p50_ms,
        "latency_p99_ms": t.latency_p99_ms,
        "record_p50_ms": t.record_p50_ms,   # end to end too, from a record (dict) instead of a DataFrame
        "model_p50_ms": t.model_p50_ms,     # the model alone on prepared features, for comparison
        "rows_per_s": t.rows_per_s,
        "infer_cost_per_million_usd": t.infer_cost_per_million_usd,
        "size_bytes": t.size_bytes,
        "peak_memory_bytes": t.peak_memory_bytes,
        "worker": t.worker,   # where it ran on a Dask cluster (None: this node)
        "frontier": on_frontier,
        "chosen": chosen,
        "error": t.error,
        "ok": t.ok,
    }


def _short(value: Any) -> Any:
    return f"{value:.4g}" if isinstance(value, float) else value
