"""The record of one trial: what was tried, how it went, and what it costs to train and run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["TrialResult", "TrialStatus"]

TrialStatus = Literal["ok", "failed", "skipped"]


@dataclass
class TrialResult:
    """One candidate's measurements, taken in the trial's worker with its thread share.

    ``latency_p50_ms``/``latency_p99_ms``/``rows_per_s`` (and so ``infer_cost_per_million_usd``) are
    end to end, as a caller of ``predict`` gets them: from a one-row DataFrame (a DataFrame batch) of
    raw dev rows to the decoded label, the preparation included; for images and sequences from raw
    array rows. ``record_p50_ms``: the same from a record (``dict``). ``model_p50_ms``/
    ``model_p99_ms``: the model alone on one prepared float32 row. Selection,
    limits and the frontier use the end-to-end figures (engine/measure.py).
    ``peak_memory_bytes`` is the worker's peak resident memory (the libraries it loaded included).
    """

    trial_id: str
    family: str
    params: dict[str, Any]
    status: TrialStatus = "ok"
    error: str | None = None
    metric_name: str = "accuracy"
    dev_metric: float | None = None
    fit_s: float | None = None
    train_cost_usd: float | None = None
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    rows_per_s: float | None = None
    infer_cost_per_million_usd: float | None = None
    size_bytes: int | None = None
    peak_memory_bytes: int | None = None
    estimated_fit_s: float | None = None
    n_threads: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    record_p50_ms: float | None = None
    model_p50_ms: float | None = None
    model_p99_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.dev_metric is not None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrialResult:
        """Rebuild a record; keys this version does not know are ignored."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})
