"""The Dataset and Schema that every later stage receives."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["Task", "Modality", "ColumnKind", "Column", "Schema", "Dataset", "CleaningReport", "Records"]

Task = Literal["classification", "regression"]
Modality = Literal["tabular", "image", "sequence", "text"]
ColumnKind = Literal["numeric", "categorical", "boolean", "text", "date"]


@dataclass(frozen=True)
class Column:
    """One feature column: its name and how it is treated; for a date column read from text, the
    ``strptime`` format its training values had (``None``: a datetime dtype, or no one format)."""

    name: str
    kind: ColumnKind
    format: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, **({"format": self.format} if self.format else {})}


@dataclass(frozen=True)
class Schema:
    """What a model was trained on: the task, the label, the feature columns and the classes.

    ``columns`` lists the feature columns kept for training in their training order; predictions
    align incoming tables to them by name. ``dropped`` maps a column left out to the reason.
    For arrays (``modality`` image/sequence), ``shape`` is the per-row shape and ``columns``
    is empty. ``id_column``: the column that names each row (``id=``), never a feature; predictions
    carry it back.
    """

    task: Task
    label: str
    columns: tuple[Column, ...]
    classes: tuple[Any, ...] = ()
    modality: Modality = "tabular"
    shape: tuple[int, ...] = ()
    dropped: dict[str, str] = field(default_factory=dict)
    input_columns: tuple[str, ...] = ()
    id_column: str | None = None

    @property
    def feature_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["columns"] = [c.to_json() for c in self.columns]
        out["classes"] = [_jsonable(c) for c in self.classes]
        out["shape"] = list(self.shape)
        out["input_columns"] = list(self.input_columns)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schema:
        return cls(
            task=data["task"],
            label=data["label"],
            columns=tuple(Column(**c) for c in data["columns"]),
            classes=tuple(data["classes"]),
            modality=data.get("modality", "tabular"),
            shape=tuple(data.get("shape", ())),
            dropped=dict(data.get("dropped", {})),
            input_columns=tuple(data.get("input_columns", ())),
            id_column=data.get("id_column"),
        )


@dataclass
class CleaningReport:
    """What cleaning did to the rows and values it was given."""

    n_rows_read: int = 0
    n_duplicates_dropped: int = 0
    n_missing_label_dropped: int = 0
    n_infinite_values: dict[str, int] = field(default_factory=dict)
    # Mostly-numeric columns: how many non-numeric tokens ('?', 'n/a') were read as missing values.
    n_non_numeric_values: dict[str, int] = field(default_factory=dict)
    # Mostly-date columns: how many values that are no date ('unknown', '2024-13-45') were read as missing.
    n_non_date_values: dict[str, int] = field(default_factory=dict)
    # Image folders: files skipped as unreadable (first few named, with the reason) and images resized.
    n_files_skipped: int = 0
    skipped_files: dict[str, str] = field(default_factory=dict)
    n_images_resized: int = 0
    # The task chosen and why ("label 'price' holds numbers with fractions"), for the user to check.
    task_reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Records:
    """Table rows given as dicts (column name → value), kept as given until preparation reads them.

    Turning a record into a DataFrame costs many times more than predicting it (``pd.DataFrame([row])``
    of 13 columns: ~0.4 ms on a 2-core node; a linear model: ~0.01 ms), so records stay records: the
    inference plan (features/plan.py) reads them directly.
    """

    rows: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, index: np.ndarray) -> Records:
        """The rows at positions ``index``."""
        return Records([self.rows[int(i)] for i in index])


@dataclass
class Dataset:
    """Rows of one split: features ``X``, labels ``y`` (``None`` when unlabelled) and the schema.

    ``X`` is a DataFrame for tables and a NumPy array ``(n_rows, *schema.shape)`` for images and
    sequences; rows to predict may also stay as they were given: :class:`Records`, an Arrow Table or
    RecordBatch (``Any`` here: pyarrow is imported only where used). ``y`` holds the original label
    values (class names or numbers).
    """

    X: pd.DataFrame | np.ndarray | Records | Any
    y: np.ndarray | None
    schema: Schema
    source: str = "<data>"
    cleaning: CleaningReport = field(default_factory=CleaningReport)
    # Rows sampled from a table too big for memory: the table, and where these rows are in it
    # (a data.stream.StreamedRows); None when the rows are the whole data.
    streamed: Any = None
    # One sample weight per row (float64, finite, >= 0; data.weights checks them); None: every row counts once.
    weight: np.ndarray | None = None
    # What names each row for the user: the id column's values, or the image files' paths; None: none given.
    ids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.X)

    @property
    def task(self) -> Task:
        return self.schema.task

    def subset(self, index: np.ndarray, source: str | None = None) -> Dataset:
        """Return the rows at positions ``index`` as a new Dataset sharing the schema."""
        X: Any
        if isinstance(self.X, pd.DataFrame):
            X = self.X.iloc[index].reset_index(drop=True)
        elif isinstance(self.X, np.ndarray):
            X = self.X[index]
        else:  # Records, Arrow tables and batches
            X = self.X.take(index)
        y = None if self.y is None else self.y[index]
        streamed = None if self.streamed is None else self.streamed.take(index)
        weight = None if self.weight is None else self.weight[index]
        ids = None if self.ids is None else self.ids[index]
        return Dataset(X=X, y=y, schema=self.schema, source=source or self.source, cleaning=self.cleaning,
                       streamed=streamed, weight=weight, ids=ids)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.source!r}, rows={len(self)}, task={self.task}, "
            f"modality={self.schema.modality}, label={self.schema.label!r})"
        )


def _jsonable(value: Any) -> Any:
    """Turn NumPy scalars into plain Python values so they survive JSON."""
    if isinstance(value, np.generic):
        return value.item()
    return value
