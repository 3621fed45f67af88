"""Prometheus metrics of one server: requests, latency, batch sizes, queue depth, and categories the
model never saw in training (per column: a drift signal).

Each app gets its own registry, so several apps (tests, benchmarks) never share counters.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["ServeMetrics", "new_metrics"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


@dataclass
class ServeMetrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    batch_rows: Histogram
    queue_depth: Gauge
    unseen_categories: Counter


def new_metrics() -> ServeMetrics:
    registry = CollectorRegistry()
    return ServeMetrics(
        registry=registry,
        requests=Counter("lepton_requests", "HTTP requests by route and status code", ["route", "code"],
                         registry=registry),
        latency=Histogram("lepton_request_latency_seconds", "Request latency (seconds) by route", ["route"],
                          buckets=_LATENCY_BUCKETS, registry=registry),
        batch_rows=Histogram("lepton_batch_rows", "Rows per model call", buckets=_BATCH_BUCKETS, registry=registry),
        queue_depth=Gauge("lepton_queue_depth", "Requests waiting for the model", registry=registry),
        unseen_categories=Counter("lepton_unseen_categories", "Values of categories not seen in training, "
                                  "predicted as missing values, by column", ["column"], registry=registry),
    )
