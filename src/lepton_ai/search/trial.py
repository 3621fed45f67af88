"""The record of one trial: what was tried, how it went, and what it costs to train and run.

One type from the worker to the run store, the saved model and the report: the worker returns a
:class:`TrialResult` (as JSON across the process boundary), the engine fills in what the search
planned, refit and compression add their fields, and ``to_json``/``from_json`` store and load it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..errors import ArtifactError

__all__ = ["TrialResult", "TrialStatus", "trial_id_for"]

TrialStatus = Literal["ok", "failed", "skipped"]

_ID = re.compile(r"^t(\d+)")


def trial_id_for(index: int) -> str:
    """The id of the ``index``-th trial a search launches: ``t000``, ``t001``, ..."""
    return f"t{index:03d}"


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

    ``index`` is the launch order (``trial_id`` is :func:`trial_id_for` of it); a compressed
    variant (``<source>-<kind>``) shares its source's index. The fields after ``n_threads`` say
    how the search planned the trial (``origin``, ``rung``, ``rung_fraction``: the share of
    training rows, ``config_id``, ``forced``: run past a budget too small for any trial), what its
    fit reported (``ModelFamily.fit_report``: ``fit_length`` in the unit of the family's
    ``length_param``, trees or epochs; ``converged``; ``history``, one record per epoch), its dev
    loss, the traceback of a failure, its refit (``refit_fit_s``, ``refit_params``, or why there was
    none, ``refit_error``; see ``engine.refit``) and, for a compressed variant, the trial it was
    made from (``variant_of``). ``folds``: the trial was ranked on ``folds``-fold out-of-fold
    predictions (``dev_metric`` and ``dev_loss`` are over every training row; ``0``: on the dev
    split), with ``fold_lengths`` the length each fold found (``fit_length`` is their mean, what the
    refit trains to). ``extra`` holds free-form notes that nothing reads back.
    """

    trial_id: str
    index: int
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
    origin: str | None = None
    rung: int = 0
    rung_fraction: float = 1.0
    config_id: str | None = None
    forced: bool = False
    dev_loss: float | None = None
    fit_length: int | None = None
    converged: bool | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    traceback: str | None = None
    refit_fit_s: float | None = None
    refit_params: dict[str, Any] | None = None
    refit_error: str | None = None
    variant_of: str | None = None
    worker: str | None = None  # the Dask worker that ran it (None: this node)
    extra: dict[str, Any] = field(default_factory=dict)
    record_p50_ms: float | None = None
    model_p50_ms: float | None = None
    model_p99_ms: float | None = None
    folds: int = 0                          # ranked on k-fold out-of-fold predictions (search.validation)
    fold_lengths: list[int] | None = None   # the length each fold's early stopping found
    # Binary: the probability of the positive class from which the model predicts it, tuned on the
    # rows it was ranked on for the search's metric (models.metrics.tune_threshold); None: the most
    # probable class.
    threshold: float | None = None
    # "balanced": its fit weighed every class the same (the search tries it on imbalanced classes);
    # None: the rows' own weights.
    class_weight: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok" and self.dev_metric is not None

    @property
    def refitted(self) -> bool:
        """Whether the model of this trial was trained again on train + dev (``engine.refit``)."""
        return self.refit_params is not None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrialResult:
        """Rebuild a record; keys this version does not know are ignored.

        Records written before the fields above existed (run stores, saved model manifests) kept
        them inside ``extra`` and had no ``index``: :func:`_upgrade` moves them out.
        """
        known = cls.__dataclass_fields__
        record = cls(**{k: v for k, v in _upgrade(data).items() if k in known})
        threshold = record.threshold
        if threshold is not None and not (isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
                                          and 0.0 < float(threshold) < 1.0):
            raise ArtifactError(f"trial record {record.trial_id!r}: threshold {threshold!r} is not a probability "
                                "strictly between 0 and 1.")
        if record.class_weight not in (None, "balanced"):
            raise ArtifactError(f"trial record {record.trial_id!r}: class_weight {record.class_weight!r} is not "
                                "None or 'balanced'.")
        return record


# Keys older records kept in ``extra`` that are now fields of the same name.
_MOVED = ("origin", "rung", "rung_fraction", "config_id", "forced", "dev_loss", "converged", "history",
          "traceback", "refit_error", "variant_of")
# Keys older records kept in ``extra`` under another name: the length a fit reached.
_RENAMED = {"n_trees": "fit_length", "epochs_run": "fit_length"}


def _upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` in this version's layout: fields kept in ``extra`` moved out, ``index`` from the id."""
    out = dict(data)
    extra = dict(out.get("extra") or {})
    for key in _MOVED:
        if key in extra:
            out.setdefault(key, extra.pop(key))
    for old, new in _RENAMED.items():
        if old in extra:
            out.setdefault(new, extra.pop(old))
    if "refit" in extra:  # {"fit_s", "params"} of a refit that replaced the trial's model
        refit = extra.pop("refit") or {}
        out.setdefault("refit_fit_s", refit.get("fit_s"))
        out.setdefault("refit_params", refit.get("params") or {})
    fidelity = extra.pop("fidelity", None)  # the worker's copy of rung_fraction
    if fidelity is not None:
        out.setdefault("rung_fraction", fidelity)
    out["extra"] = extra
    if "index" not in out:
        out["index"] = _index_from_id(str(out.get("trial_id", "")))
    return out


def _index_from_id(trial_id: str) -> int:
    """The launch index in an id written before records had one: ``t012`` and ``t012-onnx`` give 12."""
    match = _ID.match(trial_id)
    if match is None:
        raise ArtifactError(f"trial record {trial_id!r}: no 'index', and its 'trial_id' is not of the form "
                            "t<number> to derive one from.")
    return int(match.group(1))
