"""``lepton compress MODEL``: add measured compressed variants to a saved model directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..errors import ConfigError

__all__ = ["run_compress", "chosen_kinds"]


def chosen_kinds(*, int8: bool, onnx: bool, bf16: bool, trees: bool) -> list[str] | None:
    """The variant kinds the flags ask for; no flag means every kind (``None``)."""
    if not (int8 or onnx or bf16 or trees):
        return None
    kinds: list[str] = []
    if bf16:
        kinds.append("torch-bf16")
    if int8:
        kinds += ["torch-int8", "onnx-int8"]
    if onnx:
        kinds += ["onnx", "onnx-int8"]
    if trees:
        kinds.append("gbdt-fast")
    return list(dict.fromkeys(kinds))


def run_compress(*, model_dir: Path, kinds: list[str] | None, data: str | None, sep: str | None) -> None:
    from ..compress.apply import compress_result
    from ..model import load_model, save_model
    from ..models.registry import get_family
    from .commands import _console

    model = load_model(model_dir)
    result = model.result_
    assert result is not None
    sources = [tid for tid in result.models if get_family(result.trial(tid).family).searchable]
    dev, rows = _dev_split(model, sources, data, sep)
    console = _console()
    added = compress_result(result, dev, rows=rows, sources=sources, kinds=kinds,
                            log=lambda line: typer.echo(f"lepton: {line}", err=True))
    if not added:
        console.print(f"{model_dir}: no new variant (models: {', '.join(sources)}; variants exist already or none "
                      "applies: neural models get bf16/int8/ONNX, LightGBM the fast single-row path).")
        return
    for t in added:
        console.print(f"{t.trial_id:<18} {t.family:<10} {t.metric_name} {t.dev_metric:.4f}  "
                      f"p50 {t.latency_p50_ms:.3f} ms  p99 {t.latency_p99_ms:.3f} ms  "
                      f"{t.rows_per_s:,.0f} rows/s  {t.size_bytes:,} bytes")
    model.select(model.objective)
    save_model(model_dir, model)
    chosen = model.chosen
    console.print(f"saved: {model_dir}; chosen ({model.objective}): {chosen.trial_id} {chosen.family}")


def _dev_split(model: Any, sources: list[str], data: str | None, sep: str | None) -> tuple[dict[str, Any], Any]:
    """The labelled dev rows, prepared for each view the sources read, and the first of them raw
    (with the preparer: what the end-to-end timings predict from).

    A saved model holds no data: the dev split comes from ``--data`` or, on the machine that
    trained the model, from the feature cache the search left.
    """
    from ..config import Settings
    from ..data.coerce import to_input
    from ..features.cache import FeatureCache, RawRows, prepare, raw_dev_rows

    result = model.result_
    if data is not None:
        dataset = to_input(data, result.schema, sep=sep)
        if dataset.y is None:
            raise ConfigError(f"{data}: needs the label column {result.schema.label!r} to measure the variants.")
        views = {str(result.models[s].view) for s in sources}
        prepared_views = {view: prepare(result.preparer, dataset, view) for view in views}  # type: ignore[arg-type]
        return prepared_views, RawRows(result.preparer, raw_dev_rows(dataset))
    prepared = FeatureCache(Settings().home / "cache" / "features").load(str(result.extra.get("key", "")))
    if prepared is None:
        raise ConfigError("the model directory holds no data and its training split is not in this machine's "
                          "feature cache; pass --data DEV.csv (labelled rows) to measure the variants on.")
    return {view: parts[1] for view, parts in prepared.views.items()}, prepared.raw_rows
