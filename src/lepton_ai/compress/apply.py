"""Compress the candidates of a search result: make variants, measure each, add them to the result.

Each variant is measured like a searched candidate: the primary metric on dev, single-row latency
p50/p99 and batch rows/s end to end from the raw dev rows, the model alone beside them, and size on
disk (:func:`lepton_ai.engine.measure.measure_model`), with the
thread count the search gave its trials, so the figures compare with the source's. Its training
cost is the source's plus the seconds compression took. It then joins the result's trials (and so
the frontier) under the id ``<source trial>-<kind>``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..engine.callbacks import Callback, CallbackRunner
from ..engine.measure import measure_model
from ..engine.result import SearchResult
from ..features.cache import FeatureCache, RawRows
from ..features.prepared import Prepared
from ..models.base import ModelFamily
from ..models.derived.variant import VariantFamily
from ..models.metrics import METRICS, Metric, primary_metric_name
from ..models.registry import get_family, resolve_families
from ..search.frontier import pareto_front
from ..search.trial import TrialResult
from .variants import make_variants, variant_kinds

__all__ = ["compress_result", "compress_after_search", "has_variants", "default_sources", "SECONDS_PER_VARIANT"]

# What one variant takes to make and measure on a 2-core node (export or conversion, dev metric,
# ~0.3 s of timing end to end and of the model alone, saving): the time left is checked against it
# before each source.
SECONDS_PER_VARIANT = 0.4


def default_sources(result: SearchResult) -> list[str]:
    """The trials to compress by default: frontier models that were kept and are not variants."""
    return [t.trial_id for t in pareto_front(result.trials)
            if t.trial_id in result.models and not t.variant_of]


def compress_result(result: SearchResult, dev: Mapping[str, Prepared], *, rows: RawRows,
                    sources: Sequence[str] | None = None, kinds: Sequence[str] | None = None,
                    deadline: float | None = None, callbacks: Sequence[Callback] = (),
                    log: Callable[[str], None] | None = None, metric: Metric | None = None) -> list[TrialResult]:
    """Make, measure and add the variants of ``sources`` (default :func:`default_sources`).

    ``dev``: the prepared dev split by view (``"dense"``, ``"codes"``), labelled. ``rows``: raw dev
    rows with the preparer, which the end-to-end timings predict from. ``kinds``: which
    variants (default: all that apply). ``deadline`` (``time.monotonic()``): sources whose variants
    would not finish by then are skipped, with a line to ``log``. A variant that fails is logged and
    left out. Returns the variant trials added. ``metric``: what the search ranked by (default: the
    one ``result`` recorded, when it is a built-in one).
    """
    say = log or (lambda message: None)
    metric = metric or METRICS.get(str(result.extra.get("metric") or primary_metric_name(result.schema.task)))
    runner = CallbackRunner(callbacks)  # each variant is one more trial the callbacks see; the search is over
    added: list[TrialResult] = []
    for source_id in default_sources(result) if sources is None else sources:
        source = result.models[source_id]
        present = {t.trial_id for t in result.trials}
        todo = [k for k in variant_kinds(source, kinds) if f"{source_id}-{k}" not in present]
        if not todo:
            continue
        if deadline is not None and time.monotonic() + SECONDS_PER_VARIANT * len(todo) > deadline:
            say(f"compress: no time left in the budget for the variants of {source_id} ({', '.join(todo)}); skipped. "
                "Run `lepton compress MODEL` on the saved model to add them.")
            continue
        part = dev[str(source.view)]
        with _threads(result.n_threads):
            for trial in _compress_one(result, source_id, source, todo, part, rows, say, metric):
                added.append(trial)
                runner.on_trial_end(trial)
    return added


def _compress_one(result: SearchResult, source_id: str, source: ModelFamily, kinds: list[str], dev: Prepared,
                  rows: RawRows, say: Callable[[str], None], metric: Metric | None) -> Iterator[TrialResult]:
    start = time.perf_counter()
    # A variant that cannot be made or run (an export the exporters cannot trace, a runtime error in
    # ONNX Runtime) is left out with a line saying why; the source and the search stay as they are.
    try:
        variants = make_variants(source, source_id, kinds, np.array(dev.X[:256], dtype=np.float32))
    except Exception as exc:
        say(f"compress: {source_id} ({source.name}): {type(exc).__name__}: {exc}")
        return
    made_s = (time.perf_counter() - start) / max(len(variants), 1)
    baseline = _dev_metric(source, dev, metric)
    for kind, variant in variants.items():
        try:
            yield _measured(result, source_id, kind, variant, (dev, rows), made_s, baseline, metric)
        except Exception as exc:
            say(f"compress: {source_id}-{kind}: {type(exc).__name__}: {exc}; left out")


def _dev_metric(model: ModelFamily, dev: Prepared, metric: Metric | None) -> float | None:
    """``model``'s score on the dev split by ``metric`` (None: a metric of the user's this process does
    not have, e.g. compressing a loaded model: no score)."""
    if metric is None:
        return None
    X = np.array(dev.X, dtype=np.float32)  # a writable copy: torch refuses read-only (memory-mapped) arrays
    assert dev.y is not None
    return metric.score(model.task_, dev.y, model.output(X), weight=dev.weight)


def _measured(result: SearchResult, source_id: str, kind: str, variant: VariantFamily,
              dev_split: tuple[Prepared, RawRows], made_s: float, baseline: float | None,
              metric: Metric | None) -> TrialResult:
    """Measure ``variant`` on the dev split (prepared, and its raw rows) and add it to ``result``.
    Without a ``metric`` to score it by, its dev metric is the source's.

    Its dev metric is the source trial's plus what compression changed on the dev rows
    (variant minus source model, ``baseline``): the source model may have been refit on train + dev
    after its trial was scored, and then dev no longer scores it fairly, but the change still shows.
    """
    start = time.perf_counter()
    dev, rows = dev_split
    variant.set_threads(result.n_threads)
    source = result.trial(source_id)
    X = np.array(dev.X, dtype=np.float32)
    measured_metric = _dev_metric(variant, dev, metric)
    dev_metric = source.dev_metric if source.dev_metric is not None else measured_metric
    if measured_metric is not None and baseline is not None and dev_metric is not None:
        dev_metric += measured_metric - baseline
    trial_id = f"{source_id}-{kind}"
    directory = result.model_dir(trial_id)
    with tempfile.TemporaryDirectory(prefix="lepton-variant-") as scratch:
        measured = measure_model(variant, X, save_to=directory or Path(scratch) / trial_id, rows=rows)
    compress_s = made_s + time.perf_counter() - start
    price = result.price_per_core_hour / 3600.0 * max(result.n_threads, 1)
    trial = TrialResult(
        trial_id=trial_id, index=source.index, family=variant.name, params={"source": source_id, "kind": kind},
        metric_name=source.metric_name, dev_metric=dev_metric, threshold=source.threshold,
        fit_s=(source.fit_s or 0.0) + compress_s,
        train_cost_usd=(source.train_cost_usd or 0.0) + compress_s * price,
        latency_p50_ms=measured.latency_p50_ms, latency_p99_ms=measured.latency_p99_ms,
        rows_per_s=measured.rows_per_s, infer_cost_per_million_usd=1e6 / measured.rows_per_s * price,
        size_bytes=measured.size_bytes, n_threads=result.n_threads, rung_fraction=source.rung_fraction,
        variant_of=source_id, record_p50_ms=measured.record_p50_ms, model_p50_ms=measured.model_p50_ms,
        model_p99_ms=measured.model_p99_ms,
        extra={"variant": kind, "source_family": source.family, "compress_s": compress_s,
               "dev_metric_change": None if measured_metric is None or baseline is None
               else measured_metric - baseline},
    )
    result.add_candidate(trial, variant)
    return trial


@contextmanager
def _threads(n_threads: int) -> Iterator[None]:
    """Measure with the trials' thread count (torch and BLAS), restoring this process's afterwards.

    torch is only set when already imported (a neural source loads it): a tree-only model never pays
    for importing it.
    """
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else 0
    if torch is not None:
        torch.set_num_threads(max(1, n_threads))
    try:
        with threadpool_limits(limits=max(1, n_threads)):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(before)


def has_variants(families: str | Sequence[str] | None) -> bool:
    """Whether any of ``families`` (``None``: every searchable one) has compressed variants (neural
    families, LightGBM): ``train`` then keeps the compression slice of its budget
    (:class:`~lepton_ai.search.budget.BudgetPlan`) for them."""
    names = resolve_families(families if families is None or isinstance(families, str) else list(families))
    return any(variant_kinds(get_family(name)) for name in names)


def compress_after_search(result: SearchResult, cache: FeatureCache, *, deadline: float,
                          callbacks: Sequence[Callback] = (), log: Callable[[str], None] | None = None,
                          metric: Metric | None = None) -> list[TrialResult]:
    """``train``'s automatic step: compress the frontier of ``result`` with the dev split the search
    prepared (read back from the feature ``cache``), within ``deadline`` (``time.monotonic()``)."""
    say = log or (lambda message: None)
    if not default_sources(result):
        return []
    prepared = cache.load(str(result.extra.get("key", "")))
    if prepared is None:
        say("compress: the search's prepared dev split is no longer in the feature cache; compression skipped.")
        return []
    dev = {view: parts[1] for view, parts in prepared.views.items()}
    return compress_result(result, dev, rows=prepared.raw_rows, deadline=deadline, callbacks=callbacks, log=say,
                           metric=metric)
