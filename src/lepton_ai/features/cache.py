"""The feature cache: prepared features on disk, keyed by a content hash of data and settings.

The same data with the same preparation settings is never prepared twice, within a run or across
runs: the first search writes ``<root>/<key>/`` (preparer state, schema, and one ``.npy`` file per
view and split, and the sample weights when there are; the text view of a table with text columns
as JSON; the first dev rows as they were given, for timing predictions end to end), later ones read
it back.
Worker processes memory-map the arrays instead of receiving copies. Entries are written to a
temporary directory and renamed into place, so a reader never sees half an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..blobs import SharedCache
from ..data.dataset import Dataset, Schema
from .columns import is_missing
from .labels import encode_labels
from .prepared import TEXT_VIEW, VIEWS, Prepared, View
from .tabular import TabularPreparer
from .text import load_texts, save_texts

__all__ = ["FeatureCache", "PreparedData", "RawRows", "load_raw_rows", "prepare", "data_key", "row_shape",
           "PREPARATION_VERSION", "VIEWS", "RAW_ROWS", "RAW_ARRAY_ROWS"]

# Bump when preparation changes what it outputs: old cache entries then stop matching.
PREPARATION_VERSION = 4
# Dev rows kept as given (before preparation): what end-to-end latency and throughput are measured
# on. A batch of a few rows repeated flatters trees 2-3x (the same paths, cached and predicted by
# the CPU): 512 distinct table rows give the rows/s of a user's batch; image and sequence rows are
# large, and a network's cost does not depend on which rows it sees.
RAW_ROWS = 512
RAW_ARRAY_ROWS = 64
_RAW_RECORDS, _RAW_ARRAY = "dev_rows.json", "dev_rows.npy"


@dataclass(frozen=True)
class RawRows:
    """A few dev rows as a caller of ``predict`` holds them, and the preparation that reads them.

    ``rows``: for tables, records (dicts of column name → value, ``None`` where missing); for
    images and sequences, an array ``(n_rows, *shape)`` of the raw values. Timing predictions from
    these (engine/measure.py) includes the preparation, which on a real table costs more than the
    model.
    """

    preparer: TabularPreparer
    rows: list[dict[str, Any]] | np.ndarray


@dataclass
class PreparedData:
    """Fitted preparation plus the prepared train and dev splits for every view."""

    schema: Schema
    preparer: TabularPreparer
    views: dict[str, tuple[Prepared, Prepared]]
    info: dict[str, Any] = field(default_factory=dict)
    directory: Path | None = None  # where the arrays live on disk, when cached
    dev_rows: list[dict[str, Any]] | np.ndarray | None = None  # the first RAW_ROWS dev rows as given

    @property
    def raw_rows(self) -> RawRows:
        """The raw dev rows with the preparer, for end-to-end timing."""
        assert self.dev_rows is not None
        return RawRows(self.preparer, self.dev_rows)

    @property
    def n_rows(self) -> int:
        return len(self.views["dense"][0].X)

    @property
    def n_features(self) -> int:
        return int(self.views["dense"][0].X.shape[1])


def prepare(preparer: TabularPreparer, data: Dataset, view: View, *, labelled: bool = True) -> Prepared:
    """Prepared features of ``data`` for a family of ``view``; rows with unknown labels are dropped."""
    X = preparer.transform(data.X, view, source=data.source)
    schema = preparer.schema
    y = None
    weight = None if data.weight is None else np.asarray(data.weight, dtype=np.float64)
    if labelled and data.y is not None:
        y = encode_labels(data.y, schema)
        known = y >= 0 if schema.task == "classification" else ~np.isnan(y)
        if not known.all():
            X, y = X[known], y[known]
            weight = None if weight is None else weight[known]
    return Prepared(X=X, y=y, task=schema.task, n_classes=schema.n_classes,
                    categorical=preparer.categorical_indices(view), shape=row_shape(schema), weight=weight)


def row_shape(schema: Schema) -> tuple[int, ...]:
    """The per-row shape behind the flat features of an image or sequence dataset; ``()`` for tables."""
    return tuple(schema.shape) if schema.modality in ("image", "sequence") else ()


def prepare_all(train: Dataset, dev: Dataset) -> PreparedData:
    """Fit preparation on ``train`` and prepare both splits in every view."""
    preparer = TabularPreparer(train.schema).fit(train)
    views: dict[str, tuple[Prepared, Prepared]] = {
        view: (prepare(preparer, train, view), prepare(preparer, dev, view)) for view in _views(train.schema)
    }
    return PreparedData(schema=train.schema, preparer=preparer, views=views, dev_rows=raw_dev_rows(dev))


def raw_dev_rows(data: Dataset, n_rows: int = RAW_ROWS) -> list[dict[str, Any]] | np.ndarray:
    """The first ``n_rows`` rows of ``data`` as a caller would pass them: records for a table (JSON
    values, missing ones ``None``), the raw array rows otherwise (at most RAW_ARRAY_ROWS)."""
    if isinstance(data.X, np.ndarray):
        return np.array(data.X[:min(n_rows, RAW_ARRAY_ROWS)])
    frame = data.X if isinstance(data.X, pd.DataFrame) else pd.DataFrame.from_records(data.X.rows[:n_rows])
    records = frame.head(n_rows).to_dict("records")
    return [{str(k): _json_value(v) for k, v in row.items()} for row in records]


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return None if value != value else value  # NaN: missing
    if is_missing(value):
        return None
    return value.item() if isinstance(value, np.generic) else str(value)


def load_raw_rows(directory: Path) -> RawRows:
    """The raw dev rows and the preparer of the cache entry at ``directory`` (what a worker times
    predictions from), without reading the prepared arrays."""
    meta = json.loads((directory / "meta.json").read_text())
    schema = Schema.from_json(meta["schema"])
    preparer = TabularPreparer.from_json(schema, meta["preparer"])
    return RawRows(preparer, _load_rows(directory))


def _load_rows(directory: Path) -> list[dict[str, Any]] | np.ndarray:
    if (directory / _RAW_ARRAY).is_file():
        return np.load(directory / _RAW_ARRAY, allow_pickle=False)
    return list(json.loads((directory / _RAW_RECORDS).read_text(encoding="utf-8")))


def data_key(train: Dataset, dev: Dataset, settings: dict[str, Any] | None = None) -> str:
    """A SHA-256 over the contents of both splits, the schema and the preparation settings."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"version": PREPARATION_VERSION, "schema": train.schema.to_json(),
                              "settings": settings or {}}, sort_keys=True, default=str).encode())
    for part in (train, dev):
        _hash_into(digest, part.X)
        _hash_into(digest, part.y)
        if part.weight is not None:
            _hash_into(digest, part.weight)
    return digest.hexdigest()


class FeatureCache:
    """Prepared features under ``root``; ``hits`` and ``misses`` count lookups in this process.

    ``shared``, when given (a :class:`~lepton_ai.blobs.SharedCache`, ``LEPTON_CACHE``), is the cache
    of every node: an entry missing here is fetched from it before anything is prepared, and an
    entry prepared here is put there.
    """

    def __init__(self, root: Path, shared: SharedCache | None = None) -> None:
        self.root = Path(root)
        self.shared = shared
        self.hits = 0
        self.misses = 0

    def get_or_prepare(self, train: Dataset, dev: Dataset, settings: dict[str, Any] | None = None) -> PreparedData:
        """Return the cached preparation of ``(train, dev)``, preparing and storing it on a miss."""
        key = data_key(train, dev, settings)
        cached = self.load(key)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        prepared = prepare_all(train, dev)
        prepared.info = {"key": key, "n_train": len(train), "n_dev": len(dev), "source": train.source,
                         "cleaning": train.cleaning.to_json()}
        self.store(key, prepared)
        return self.load(key) or prepared

    def load(self, key: str) -> PreparedData | None:
        directory = self.root / key
        meta_path = directory / "meta.json"
        if not meta_path.is_file() and not self._fetch(key):
            return None
        meta = json.loads(meta_path.read_text())
        schema = Schema.from_json(meta["schema"])
        preparer = TabularPreparer.from_json(schema, meta["preparer"])
        views: dict[str, tuple[Prepared, Prepared]] = {}
        for view in _views(schema):
            parts = []
            for split in ("train", "dev"):
                X = (load_texts(directory / f"{split}_{view}_X.json") if view == TEXT_VIEW else
                     np.load(directory / f"{split}_{view}_X.npy", mmap_mode="r", allow_pickle=False))
                y = np.load(directory / f"{split}_y.npy", allow_pickle=False)
                weights = directory / f"{split}_w.npy"
                weight = np.load(weights, allow_pickle=False) if weights.is_file() else None
                parts.append(Prepared(X=X, y=y, task=schema.task, n_classes=schema.n_classes,
                                      categorical=preparer.categorical_indices(view), shape=row_shape(schema),
                                      weight=weight))
            views[view] = (parts[0], parts[1])
        return PreparedData(schema=schema, preparer=preparer, views=views, info=meta["info"], directory=directory,
                            dev_rows=_load_rows(directory))

    def remove(self, key: str) -> bool:
        """Delete the entry ``key``; whether there was one. It is renamed away first, so a reader
        never sees half an entry."""
        target = self.root / key
        if not target.is_dir():
            return False
        trash = target.with_name(f".{key[:12]}.removing-{os.getpid()}")
        os.replace(target, trash)
        shutil.rmtree(trash)
        return True

    def store(self, key: str, prepared: PreparedData) -> Path:
        target = self.root / key
        if (target / "meta.json").is_file():
            return target
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key[:12]}.tmp-", dir=self.root))
        try:
            for view, (train, dev) in prepared.views.items():
                for split, part in (("train", train), ("dev", dev)):
                    if view == TEXT_VIEW:
                        save_texts(tmp / f"{split}_{view}_X.json", part.X)
                    else:
                        np.save(tmp / f"{split}_{view}_X.npy", np.ascontiguousarray(part.X), allow_pickle=False)
                    np.save(tmp / f"{split}_y.npy", np.asarray(part.y), allow_pickle=False)
                    if part.weight is not None:
                        np.save(tmp / f"{split}_w.npy", np.asarray(part.weight), allow_pickle=False)
            _store_rows(tmp, prepared.dev_rows)
            meta = {"schema": prepared.schema.to_json(), "preparer": prepared.preparer.to_json(),
                    "info": prepared.info}
            (tmp / "meta.json").write_text(json.dumps(meta, default=str))
            try:
                os.replace(tmp, target)
            except OSError:  # another process stored the same key first: theirs is identical
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if self.shared is not None:
            self.shared.put(_shared_key(key), target)
        return target

    def _fetch(self, key: str) -> bool:
        """Copy the entry ``key`` from the shared cache, when there is one and it holds it."""
        if self.shared is None or not key:
            return False
        return self.shared.get(_shared_key(key), self.root / key)


def _shared_key(key: str) -> str:
    return f"features:{PREPARATION_VERSION}:{key}"


def _store_rows(directory: Path, rows: list[dict[str, Any]] | np.ndarray | None) -> None:
    if isinstance(rows, np.ndarray):
        np.save(directory / _RAW_ARRAY, rows, allow_pickle=False)
    else:
        (directory / _RAW_RECORDS).write_text(json.dumps(rows or [], ensure_ascii=False, default=str), encoding="utf-8")


def _views(schema: Schema) -> tuple[View, ...]:
    return (*VIEWS, TEXT_VIEW) if any(c.kind == "text" for c in schema.columns) else VIEWS


def _hash_into(digest: Any, value: Any) -> None:
    if value is None:
        digest.update(b"<none>")
    elif isinstance(value, pd.DataFrame):
        digest.update(json.dumps([[str(c), str(t)] for c, t in value.dtypes.items()]).encode())
        digest.update(pd.util.hash_pandas_object(value, index=False).to_numpy().tobytes())
    else:
        array = np.asarray(value)
        digest.update(f"{array.dtype}{array.shape}".encode())
        if array.dtype == object:
            digest.update(pd.util.hash_array(array.astype(str)).tobytes())
        else:
            digest.update(np.ascontiguousarray(array).tobytes())
