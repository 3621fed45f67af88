"""``save_model`` / ``load_model``: a model directory of JSON, safetensors and LightGBM text. No pickle.

Layout::

    MODEL_DIR/
      lepton.json              manifest: format, versions, schema, preparation, trials, files + SHA-256
      models/<trial>/family.json, weights.safetensors | model.txt
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._version import __version__, installed_versions
from ..data.dataset import Schema
from ..engine.result import SearchResult
from ..errors import ArtifactError
from ..features.tabular import TabularPreparer
from ..files import atomic_directory, recover_directory, unreadable_errors
from ..models.base import FAMILY_FILE
from ..models.registry import FAMILIES, load_family
from ..search.frontier import pareto_front
from ..search.trial import TrialResult
from .manifest import FORMAT, FORMAT_VERSION, MANIFEST, hash_files, read_manifest, verify_files, write_manifest
from .schema import check_trial_id

__all__ = ["StoredModel", "save_result", "load_result"]


@dataclass(frozen=True)
class StoredModel:
    """What a model directory holds: the search result, the chosen trial and the objective that chose it.

    The store reads and writes this alone; ``LeptonModel`` (the façade) wraps it, so the store
    never needs to know the façade.
    """

    result: SearchResult
    chosen: str
    objective: str


def save_result(path: str | Path, stored: StoredModel) -> Path:
    """Save ``stored`` to the directory ``path``, atomically.

    The chosen model and every frontier model are kept, so ``select`` still works after loading.
    """
    result = stored.result
    keep = {t.trial_id for t in pareto_front(result.trials) if t.trial_id in result.models}
    keep.add(stored.chosen)
    for trial_id in list(keep):  # an ensemble needs its members
        keep.update(getattr(result.models[trial_id], "members", ()) if trial_id in result.models else ())
    target = Path(path)
    with atomic_directory(target) as tmp:
        for trial_id in sorted(keep):
            result.models[trial_id].save(tmp / "models" / trial_id)
        manifest = _manifest(stored, sorted(keep))
        manifest["files"] = hash_files(tmp)
        write_manifest(tmp, manifest)
    return target


def load_result(path: str | Path) -> StoredModel:
    """Load a model directory written by :func:`save_result`, verifying every file's SHA-256."""
    root = Path(path)
    recover_directory(root)
    manifest = read_manifest(root)
    verify_files(root, manifest)
    try:
        schema = Schema.from_json(manifest["schema"])
        preparer = TabularPreparer.from_json(schema, manifest["preprocessing"])
        trials = [TrialResult.from_json(t) for t in manifest["trials"]]
        models = {trial_id: _load_family(root, trial_id, family) for trial_id, family in manifest["models"].items()}
        run = manifest["run"]
        chosen, objective = str(manifest["chosen"]), str(manifest["objective"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{root / MANIFEST}: incomplete or inconsistent manifest ({exc!r}).") from exc
    result = SearchResult(
        schema=schema, preparer=preparer, trials=trials, models=models, seed=run["seed"],
        n_threads=run["n_threads"], budget_s=run["budget_s"], wall_s=run["wall_s"],
        price_per_core_hour=run["price_per_core_hour"], price_per_gpu_hour=run["price_per_gpu_hour"],
        extra=run.get("extra", {}),
    )
    if chosen not in models:
        raise ArtifactError(f"{root / MANIFEST}: the chosen model {chosen!r} is not in the directory.")
    return StoredModel(result=result, chosen=chosen, objective=objective)


def _load_family(root: Path, trial_id: str, family: str) -> Any:
    """Load model ``trial_id`` from ``root/models``; its files were hashed, so what fails here is bad content."""
    if family not in FAMILIES:
        raise ArtifactError(f"{root}: model {trial_id!r} is of family {family!r}, which this lepton-ai does not "
                            f"know (known: {', '.join(FAMILIES)}).")
    directory = root / "models" / check_trial_id(trial_id, str(root / MANIFEST))
    if root.resolve() not in directory.resolve().parents:
        raise ArtifactError(f"{root}: model {trial_id!r} points outside the model directory.")
    if not (directory / FAMILY_FILE).is_file():
        raise ArtifactError(f"{root}: model {trial_id!r} has no {FAMILY_FILE}.")
    try:
        return load_family(directory, family)
    except ArtifactError:
        raise
    except unreadable_errors() as exc:
        raise ArtifactError(f"{directory}: model {trial_id!r} cannot be read ({type(exc).__name__}: {exc}); its "
                            "files match their hashes, so it was saved corrupt or by an incompatible library. "
                            "Save it again from its run.") from exc


def _manifest(stored: StoredModel, kept: list[str]) -> dict[str, Any]:
    result = stored.result
    chosen = result.trial(stored.chosen)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "lepton_version": __version__,
        "task": result.schema.task,
        "schema": result.schema.to_json(),
        "preprocessing": result.preparer.to_json(),
        "objective": stored.objective,
        "chosen": chosen.trial_id,
        "metrics": {"dev_" + chosen.metric_name: chosen.dev_metric, "latency_p50_ms": chosen.latency_p50_ms,
                    "rows_per_s": chosen.rows_per_s, "size_bytes": chosen.size_bytes},
        "frontier": [t.trial_id for t in pareto_front(result.trials)],
        "models": {trial_id: result.trial(trial_id).family for trial_id in kept},
        "trials": [t.to_json() for t in result.trials],
        "run": {
            "seed": result.seed, "n_threads": result.n_threads, "budget_s": result.budget_s,
            "wall_s": result.wall_s, "price_per_core_hour": result.price_per_core_hour,
            "price_per_gpu_hour": result.price_per_gpu_hour, "extra": result.extra,
        },
        "versions": _versions(),
    }


def _versions() -> dict[str, str]:
    """The libraries the model was made with (from package metadata: saving imports no torch)."""
    return {"python": platform.python_version(), **installed_versions(("numpy", "scikit-learn", "lightgbm", "torch"))}
