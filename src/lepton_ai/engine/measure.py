"""Measure a fitted candidate as a user gets it: single-row latency and batch throughput from raw
input to the decoded label, the model alone beside it, and the size on disk.

Preparing one row of a table costs as much as a linear or small tree model predicting it, or more,
so the figures that selection, limits, the frontier and the $ per million rows use are end to end,
through the same function ``LeptonModel.predict`` runs (:func:`~lepton_ai.engine.result.predict_with`:
input rows → inference plan → model → decoded label). The model alone on prepared float32 rows is
kept as ``model_p50_ms``/``model_p99_ms``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..features.cache import RawRows
from ..models.base import ModelFamily
from .result import predict_with

__all__ = ["Measurement", "measure_model"]

_WARMUP_CALLS = 5
_MAX_LATENCY_CALLS = 200
_MIN_LATENCY_CALLS = 20
# Seconds of single-row timing: end to end from a one-row DataFrame, from a record, the model alone.
_FRAME_SECONDS, _RECORD_SECONDS, _MODEL_SECONDS = 0.1, 0.04, 0.04
_THROUGHPUT_SECONDS = 0.1
_BATCH_ROWS = 4096
_PROBE_ROWS = 64
_BATCH_CALL_SECONDS = 0.025

Predict = Callable[[Any], Any]


@dataclass(frozen=True)
class Measurement:
    """What :func:`measure_model` found.

    ``latency_p50_ms``/``latency_p99_ms``: one row end to end from a one-row DataFrame (images and
    sequences: a one-row array); ``record_p50_ms``: from a record (``dict``), ``None`` for arrays;
    ``rows_per_s``: a DataFrame (or array) batch end to end. ``model_p50_ms``/``model_p99_ms``: the
    model alone on one prepared float32 row. ``size_bytes``: the files the model saves.
    """

    latency_p50_ms: float
    latency_p99_ms: float
    rows_per_s: float
    size_bytes: int
    record_p50_ms: float | None = None
    model_p50_ms: float | None = None
    model_p99_ms: float | None = None

    def breakdown(self) -> dict[str, float | None]:
        """The figures beside the end-to-end ones, by their TrialResult field names."""
        return {"record_p50_ms": self.record_p50_ms, "model_p50_ms": self.model_p50_ms,
                "model_p99_ms": self.model_p99_ms}


def measure_model(model: ModelFamily, X: np.ndarray, save_to: Path, *, rows: RawRows) -> Measurement:
    """Time ``model`` end to end on the raw dev ``rows`` and alone on ``X`` (the same split prepared).

    Single-row latency: one call per row, warm-up excluded, p50/p99 over up to 200 calls or a
    time limit (0.1 s from DataFrames, 0.04 s from records and for the model alone), at least 20.
    Throughput, end to end: rows per second of a DataFrame batch of up to 4096 rows (all the raw
    rows, up to 512 distinct ones, repeated; smaller for slow models, so that a call takes about
    25 ms), from the median of several calls. Size: the bytes :meth:`ModelFamily.save` writes into
    ``save_to``, where the model is kept.
    """
    def predict(data: Any) -> Any:
        return predict_with(model, rows.preparer, data)

    singles = [np.ascontiguousarray(X[i : i + 1]) for i in range(min(len(X), _PROBE_ROWS))]
    model_p50, model_p99 = _single_row_latency(model.predict, singles, _MODEL_SECONDS)
    frames, records = _one_row_inputs(rows.rows[:_PROBE_ROWS])
    p50, p99 = _single_row_latency(predict, frames, _FRAME_SECONDS)
    record_p50 = _single_row_latency(predict, records, _RECORD_SECONDS)[0] if records else None
    rows_per_s = _throughput(predict, _batch(predict, _raw_table(rows.rows)), _THROUGHPUT_SECONDS)
    size = sum(p.stat().st_size for p in model.save(save_to))
    return Measurement(latency_p50_ms=p50, latency_p99_ms=p99, rows_per_s=rows_per_s, size_bytes=size,
                       record_p50_ms=record_p50, model_p50_ms=model_p50, model_p99_ms=model_p99)


def _one_row_inputs(rows: list[dict[str, Any]] | np.ndarray) -> tuple[list[Any], list[dict[str, Any]]]:
    """One-row DataFrames and records of table rows (one-row arrays and no records otherwise), made
    before timing: a user's one-row frame exists before they call ``predict``."""
    if isinstance(rows, np.ndarray):
        return [rows[i : i + 1] for i in range(len(rows))], []
    frame = _raw_table(rows)
    assert isinstance(frame, pd.DataFrame)
    return [frame.iloc[[i]] for i in range(len(frame))], list(rows)


def _raw_table(rows: list[dict[str, Any]] | np.ndarray) -> pd.DataFrame | np.ndarray:
    """The raw rows as one DataFrame or array. The frame's dtypes are those pandas infers from the
    values, and each column is a block of its own, as ``read_csv`` leaves a table: reading such a
    frame costs a little more than one built at once, so the timing does not flatter CSV users."""
    if isinstance(rows, np.ndarray):
        return rows
    frame = pd.DataFrame.from_records(rows)
    return pd.concat([frame[name] for name in frame.columns], axis=1)


def _single_row_latency(predict: Predict, rows: Sequence[Any], seconds: float) -> tuple[float, float]:
    """p50 and p99 in ms of ``predict`` on one row at a time, cycling through ``rows``."""
    for i in range(_WARMUP_CALLS):
        predict(rows[i % len(rows)])
    times: list[float] = []
    stop = time.perf_counter() + seconds
    while len(times) < _MAX_LATENCY_CALLS and (len(times) < _MIN_LATENCY_CALLS or time.perf_counter() < stop):
        row = rows[len(times) % len(rows)]
        start = time.perf_counter()
        predict(row)
        times.append(time.perf_counter() - start)
    ms = np.asarray(times) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def _batch(predict: Predict, rows: pd.DataFrame | np.ndarray) -> pd.DataFrame | np.ndarray:
    """``rows`` repeated into a batch one call predicts in about 25 ms (64 to 4096 rows)."""
    start = time.perf_counter()
    predict(_repeat(rows, _PROBE_ROWS))
    rate = _PROBE_ROWS / max(time.perf_counter() - start, 1e-6)
    return _repeat(rows, int(min(_BATCH_ROWS, max(_PROBE_ROWS, rate * _BATCH_CALL_SECONDS))))


def _repeat(rows: pd.DataFrame | np.ndarray, n_rows: int) -> pd.DataFrame | np.ndarray:
    index = np.arange(n_rows) % len(rows)
    if isinstance(rows, pd.DataFrame):
        return rows.iloc[index].reset_index(drop=True)
    return np.ascontiguousarray(rows[index])


def _throughput(predict: Predict, batch: pd.DataFrame | np.ndarray, seconds: float) -> float:
    """Rows per second of the median of several batch calls (at least 3, about ``seconds`` in all):
    what a batch job of many such calls sustains, not its luckiest call."""
    predict(batch)  # warm-up
    times: list[float] = []
    stop = time.perf_counter() + seconds
    while len(times) < 3 or (time.perf_counter() < stop and len(times) < 1000):
        start = time.perf_counter()
        predict(batch)
        times.append(time.perf_counter() - start)
    return len(batch) / float(np.median(times))
