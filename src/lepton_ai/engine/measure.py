"""Measure a fitted candidate: single-row latency, batch throughput and size on disk."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..models.base import ModelFamily

__all__ = ["Measurement", "measure_model"]

_WARMUP_CALLS = 5
_MAX_LATENCY_CALLS = 200
_LATENCY_SECONDS = 0.1
_THROUGHPUT_SECONDS = 0.1
_BATCH_ROWS = 4096
_PROBE_ROWS = 64
_BATCH_CALL_SECONDS = 0.025


@dataclass(frozen=True)
class Measurement:
    latency_p50_ms: float
    latency_p99_ms: float
    rows_per_s: float
    size_bytes: int


def measure_model(model: ModelFamily, X: np.ndarray, save_to: Path) -> Measurement:
    """Time ``model`` on rows of ``X`` (prepared features): one row at a time, then in batches.

    Single-row latency: ``predict`` on one row, warm-up excluded, p50/p99 over up to 200 calls or
    0.1 s. Throughput: rows per second predicting a batch of up to 4096 rows (``X`` repeated; smaller
    for slow models, so that a call takes about 25 ms), from the fastest of several calls.
    Size: the bytes :meth:`ModelFamily.save` writes into ``save_to``, where the model is kept.
    """
    predict = model.predict
    p50, p99 = _single_row_latency(predict, X)
    rows_per_s = _throughput(predict, _batch(predict, X))
    size = sum(p.stat().st_size for p in model.save(save_to))
    return Measurement(latency_p50_ms=p50, latency_p99_ms=p99, rows_per_s=rows_per_s, size_bytes=size)


def _single_row_latency(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray) -> tuple[float, float]:
    rows = [np.ascontiguousarray(X[i : i + 1]) for i in range(min(len(X), 64))]
    for i in range(_WARMUP_CALLS):
        predict(rows[i % len(rows)])
    times: list[float] = []
    stop = time.perf_counter() + _LATENCY_SECONDS
    while len(times) < _MAX_LATENCY_CALLS and (len(times) < 20 or time.perf_counter() < stop):
        row = rows[len(times) % len(rows)]
        start = time.perf_counter()
        predict(row)
        times.append(time.perf_counter() - start)
    ms = np.asarray(times) * 1e3
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def _batch(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray) -> np.ndarray:
    """Rows of ``X`` repeated into a batch one call predicts in about 25 ms (64 to 4096 rows)."""
    probe = np.ascontiguousarray(np.resize(X, (_PROBE_ROWS, X.shape[1])))
    start = time.perf_counter()
    predict(probe)
    rate = _PROBE_ROWS / max(time.perf_counter() - start, 1e-6)
    rows = int(min(_BATCH_ROWS, max(_PROBE_ROWS, rate * _BATCH_CALL_SECONDS)))
    return np.ascontiguousarray(np.resize(X, (rows, X.shape[1])))


def _throughput(predict: Callable[[np.ndarray], np.ndarray], batch: np.ndarray) -> float:
    """Rows per second of the fastest of several batch calls (at least 3, about 0.1 s in all).

    The fastest call is the one least disturbed by other work on the machine, which makes the
    figure comparable between candidates measured at different moments.
    """
    predict(batch)  # warm-up
    times: list[float] = []
    stop = time.perf_counter() + _THROUGHPUT_SECONDS
    while len(times) < 3 or (time.perf_counter() < stop and len(times) < 1000):
        start = time.perf_counter()
        predict(batch)
        times.append(time.perf_counter() - start)
    return len(batch) / min(times)
