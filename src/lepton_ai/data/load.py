"""``load_data``: any supported source to a cleaned, typed, split :class:`Dataset`."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError, NotBuiltError
from ..memory import available_memory, format_bytes, parse_memory
from .bundled import BUNDLED, load_bundled
from .clean import check_labels, clean_arrays, clean_table, normalize_labels
from .dataset import Dataset, Modality, Schema
from .folders import folder_kind, is_glob, read_glob, read_parquet_folder
from .ids import check_id_column
from .infer import LABEL_CANDIDATES, infer_columns, infer_task
from .readers import TABLE_SUFFIXES, listed_columns, read_npz, read_table, refuse_unsupported
from .sequences import from_lengths, is_ragged, pad_sequences
from .split import DEFAULT_SPLIT, split_dataset
from .stream import StreamedRows, open_stream, sample_rows
from .weights import WEIGHT_COLUMN, check_weights, weights_of_rows

__all__ = ["load_data", "read_source", "array_modality", "check_array_dtype", "DataSource", "sample_if_too_big",
           "WORKING_FACTOR", "SEARCH_SHARE", "MIN_SAMPLE_ROWS"]

DataSource = Any  # path, bundled name, DataFrame, (X, y), ndarray or Dataset

# A table takes about this many times its DataFrame's size during a search: the cleaned copy, the
# splits, two prepared views on disk and memory-mapped, a copy of the training rows in each worker.
WORKING_FACTOR = 6.0
# The share of the memory limit the search's data may take; the rest is the final fit's (a family
# that streams every row) and the room of what cannot be counted in advance.
SEARCH_SHARE = 0.5
# A sample smaller than this trains no model worth choosing: a smaller memory limit is refused.
MIN_SAMPLE_ROWS = 1_000


def load_data(
    source: DataSource,
    label: str | None = None,
    *,
    task: str | None = None,
    split: tuple[float, ...] | None = DEFAULT_SPLIT,
    seed: int = 0,
    modality: Modality | None = None,
    sep: str | None = None,
    encoding: str = "utf-8",
    drop_duplicates: bool = True,
    memory: int | str | None = None,
    weight: str | Any = None,
    id: str | None = None,  # noqa: A002 - the name users pass, as in the CLI's --id
) -> Dataset | tuple[Dataset, ...]:
    """Load ``source``, clean it, infer task and schema, and split it.

    ``source`` is a CSV/TSV/Parquet/.npz path, a folder of Parquet files as Spark writes it (Hive
    partitions become columns; see ``data.parquet``), a glob of Parquet or CSV/TSV files
    (``"logs/2026-*.csv"``), a folder of images with one sub-folder per class
    (see ``data.images``), a bundled dataset name (``lepton datasets``), a DataFrame, an ``(X, y)``
    pair (``X`` may be a list of ``T_i x F`` sequences of different lengths: ``data.sequences``)
    or a :class:`Dataset`. ``label`` names the label column of a
    table; when omitted, a column named one of ``label, target, class, y`` is used.
    ``split`` gives fractions for (train, dev, test) or (train, dev); ``None`` returns one Dataset.
    Splits are seeded and stratified for classification.

    ``memory`` (bytes or a size such as ``"4GB"``; default: what the machine has free) bounds what
    a Parquet table may take: one estimated to need more during a search is not read whole but
    sampled, with a warning (see ``data.stream``).

    ``weight``: sample weights, as the name of a column of the table (kept out of the features) or
    one number per row of ``source`` as given (see ``data.weights``). Weighted rows are never
    dropped as duplicates: two equal rows then count twice, as their weights say.

    ``id``: the column that names each row (unique, never missing): kept out of the features and
    carried into predictions (``LeptonModel.predictions``, ``lepton predict``, the server).
    """
    data = build_dataset(
        source, label, task=task, modality=modality, sep=sep, encoding=encoding, drop_duplicates=drop_duplicates,
        memory=memory, seed=seed, weight=weight, id=id,
    )
    if split is None:
        return data
    return split_dataset(data, split, seed)


def build_dataset(
    source: DataSource,
    label: str | None = None,
    *,
    task: str | None = None,
    modality: Modality | None = None,
    sep: str | None = None,
    encoding: str = "utf-8",
    drop_duplicates: bool = True,
    memory: int | str | None = None,
    seed: int = 0,
    weight: str | Any = None,
    id: str | None = None,  # noqa: A002
) -> Dataset:
    """Load one labelled Dataset (no split); a Parquet table bigger than ``memory`` allows is sampled
    (rows drawn with ``seed``). ``weight`` and ``id``: see :func:`load_data`."""
    if id is not None and not isinstance(id, str):
        raise ConfigError(f"id must name a column of the table. Got {id!r}.")
    if isinstance(source, Dataset):
        if weight is not None or id is not None:
            raise ConfigError(f"{source.source}: a Dataset carries its own weights and ids; give weight= and id= "
                              "with the table it is read from instead.")
        return source
    if weight is not None:
        drop_duplicates = False  # equal weighted rows count as often as they appear
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], pd.DataFrame):
        if source[1] is None:
            raise DataError("(X, y): no labels were given (y is None).")
        label = label or _free_label_name(source[0])
        source = source[0].assign(**{label: np.asarray(source[1])})
    if isinstance(source, (str, Path)) and Path(source).is_dir() and folder_kind(Path(source)) == "images":
        if weight is not None or id is not None:
            raise NotBuiltError(f"{source}: sample weights and id columns for an image folder are not built (its "
                                "predictions are named by the files' paths); give the images as an (X, y) array pair "
                                "with weight= one number per image.")
        return _image_folder_dataset(Path(source), task=task, drop_duplicates=drop_duplicates)
    sampled = sample_if_too_big(source, memory, seed)
    if sampled is not None:
        if weight is not None:
            raise NotBuiltError(f"{source}: sample weights on a table bigger than memory (read in batches) are not "
                                "built; give a memory= that holds the table, or leave weight= out.")
        frame, streamed = sampled
        return _table_dataset(frame, label, str(source), task=task, drop_duplicates=drop_duplicates,
                              streamed=streamed, id=id)
    content, name = read_source(source, sep=sep, encoding=encoding)
    if isinstance(content, pd.DataFrame):
        content, weight = _weight_column(content, weight, name)
        return _table_dataset(content, label, name, task=task, drop_duplicates=drop_duplicates, weight=weight, id=id)
    X, y = content
    if y is None:
        raise DataError(f"{name}: no labels were given; pass (X, y) or an .npz with arrays 'x' and 'y'.")
    if len(X) != len(y):
        raise DataError(f"{name}: x has {len(X)} rows but y has {len(y)}; they must match.")
    if X.ndim == 2:
        frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        frame[label or "y"] = y
        frame, weight = _weight_column(frame, weight, name)
        return _table_dataset(frame, label or "y", name, task=task, drop_duplicates=drop_duplicates, weight=weight,
                              id=id)
    if id is not None:
        raise ConfigError(f"{name}: id= names a column of a table; arrays of images or sequences have none.")
    weights = None if weight is None else weights_of_rows(weight, len(X), name)
    return _array_dataset(X, y, label or "y", name, task=task, modality=modality, drop_duplicates=drop_duplicates,
                          weight=weights)


def _weight_column(frame: pd.DataFrame, weight: Any, source: str) -> tuple[pd.DataFrame, str | None]:
    """The table and the name of its weight column: ``weight`` itself when it names one, else a column
    holding the weight array given beside the table (so cleaning keeps or drops each row's weight with it)."""
    if weight is None or isinstance(weight, str):
        return frame, weight
    return frame.assign(**{WEIGHT_COLUMN: weights_of_rows(weight, len(frame), source)}), WEIGHT_COLUMN


def sample_if_too_big(source: DataSource, memory: int | str | None, seed: int
                      ) -> tuple[pd.DataFrame, StreamedRows] | None:
    """For a Parquet table whose search would need more than ``SEARCH_SHARE`` of ``memory``: a sample
    of its rows that fits, read in batches, and where they are in it; ``None`` for any other source
    (read whole as before)."""
    stream = open_stream(source)  # None for anything but Parquet on disk (a bundled name included)
    if stream is None:
        return None
    limit = available_memory() if memory is None else parse_memory(memory)
    if stream.memory_bytes * WORKING_FACTOR <= SEARCH_SHARE * limit:
        return None
    # Read in batches, the reader holds about two row groups' decoded bytes besides the sample.
    room = SEARCH_SHARE * limit - 2 * stream.max_group_bytes
    fraction = max(0.0, room) / (stream.memory_bytes * WORKING_FACTOR)
    if fraction * stream.n_rows < MIN_SAMPLE_ROWS:
        least = (MIN_SAMPLE_ROWS * stream.bytes_per_row * WORKING_FACTOR + 2 * stream.max_group_bytes) / SEARCH_SHARE
        raise ConfigError(f"{source}: a memory limit of {format_bytes(limit)} is smaller than any model can use on "
                          f"this table (a sample of {MIN_SAMPLE_ROWS} rows needs about {format_bytes(least)}); give "
                          f"memory= (CLI: --memory) of at least {format_bytes(least)}.")
    warnings.warn(f"{source}: {stream.n_rows:,} rows take about {format_bytes(stream.memory_bytes)} in memory, more "
                  f"than a search within {format_bytes(limit)} can hold: it is not read whole. The search trains on "
                  f"a sample of about {fraction:.1%} of the rows; a family that learns in batches (gbdt) reads every "
                  "row for the final model.", UserWarning, stacklevel=4)
    frame, positions = sample_rows(stream, fraction, seed)
    return frame, StreamedRows(stream, fraction, seed, positions)


def read_source(
    source: DataSource, *, sep: str | None = None, encoding: str = "utf-8"
) -> tuple[pd.DataFrame | tuple[np.ndarray, np.ndarray | None], str]:
    """Read ``source`` into a DataFrame or an ``(X, y)`` pair of arrays, and a name for messages."""
    if isinstance(source, pd.DataFrame):
        from .readers import normalize_columns

        if len(source) == 0:
            raise DataError("DataFrame: has no rows.")
        return normalize_columns(source, "DataFrame"), "DataFrame"
    if isinstance(source, tuple) and len(source) == 2:
        X, y = source
        if isinstance(X, pd.DataFrame):  # y, if given, joins the table under a free column name
            frame = X if y is None else X.assign(**{_free_label_name(X): np.asarray(y)})
            return read_source(frame)[0], "(X, y)"
        if is_ragged(X):
            X = pad_sequences(X, "X")
        return (_as_feature_array(X, "X"), None if y is None else _as_label_array(y)), "(X, y)"
    if isinstance(source, np.ndarray):
        return (_as_feature_array(source, "X"), None), "array"
    if is_ragged(source):
        return (pad_sequences(source, "X"), None), "sequences"
    if isinstance(source, str) and source in BUNDLED and not Path(source).exists():
        X, y = load_bundled(source)
        if isinstance(X, pd.DataFrame):
            return X.assign(label=y), source
        return (X, y), source
    if is_glob(source):
        return read_glob(source, sep=sep, encoding=encoding), source
    if isinstance(source, (str, Path)):
        return _read_path(Path(source), sep=sep, encoding=encoding)
    raise DataError(
        f"cannot load data from a {type(source).__name__}; expected a file path, a bundled dataset name "
        f"({', '.join(BUNDLED)}), a pandas DataFrame, an (X, y) pair or a Dataset."
    )


def array_modality(X: np.ndarray) -> Modality:
    """Images are uint8 arrays or 4-D arrays; other 3-D arrays are sequences (N x T x F)."""
    if X.dtype == np.uint8 or X.ndim == 4:
        return "image"
    return "sequence"


def check_array_dtype(X: np.ndarray, source: str) -> None:
    """Refuse image and sequence arrays that do not hold numbers (strings, dates, records)."""
    if X.dtype.kind not in "biuf":
        raise DataError(f"{source}: x has dtype {X.dtype}; image and sequence arrays must be numbers "
                        "(bool, integer or float). A 2-D array of strings is read as a table instead.")


def _read_path(path: Path, *, sep: str | None, encoding: str) -> tuple[Any, str]:
    name = str(path)
    if not path.exists():
        hint = f" Bundled datasets: {', '.join(BUNDLED)}." if not path.suffix else ""
        raise DataError(f"{name}: no such file.{hint}")
    if path.is_dir() and folder_kind(path) == "parquet":
        return read_parquet_folder(path), name
    if path.is_dir():
        from .images import read_image_folder

        folder = read_image_folder(path)
        return (folder.X, folder.y), name
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(f"{name}: the file is empty.")
    suffix = path.suffix.lower()
    if path.is_file() and suffix in TABLE_SUFFIXES:
        return read_table(path, sep=sep, encoding=encoding), name
    if path.is_file() and suffix == ".npz":
        arrays = read_npz(path)
        x_key = next((k for k in ("x", "X") if k in arrays), None)
        if x_key is None:
            raise DataError(f"{name}: expected an array named 'x'; the archive holds {', '.join(arrays) or 'nothing'}.")
        y = arrays.get("y", arrays.get("Y"))
        x = arrays[x_key] if "lengths" not in arrays else from_lengths(arrays[x_key], arrays["lengths"], name)
        return (_as_feature_array(x, f"{name}:x"), None if y is None else _as_label_array(y)), name
    refuse_unsupported(path)
    raise AssertionError("unreachable")


def _table_dataset(
    frame: pd.DataFrame, label: str | None, source: str, *, task: str | None, drop_duplicates: bool,
    streamed: StreamedRows | None = None, weight: str | None = None, id: str | None = None,  # noqa: A002
) -> Dataset:
    label = _find_label(frame, label, source)
    if id is not None:  # checked on every row as read: an id repeated or missing is the user's to fix
        check_id_column(frame, id, label, weight, source)
    if weight is not None:  # checked as read (rows named by their positions), before cleaning touches them
        _check_weight_column(frame, weight, label, source)
        what = "sample_weight" if weight == WEIGHT_COLUMN else f"weight column {weight!r}"
        frame = frame.assign(**{weight: check_weights(frame[weight], source, what)})
    if streamed is not None:  # the rows keep their table positions through cleaning
        frame = frame.set_axis(pd.Index(streamed.positions), axis=0)
    frame, report = clean_table(frame, label, source, drop_duplicates=drop_duplicates, keep_index=True)
    if streamed is not None:
        streamed = dataclasses.replace(streamed, positions=frame.index.to_numpy(dtype=np.int64))
    weights = None if weight is None else frame[weight].to_numpy(dtype=np.float64)
    frame = frame.reset_index(drop=True)
    inferred, report.task_reason = infer_task(frame[label], task, source)
    y = normalize_labels(frame[label], inferred)
    check_labels(y, inferred, label, source)
    ids = None if id is None else frame[id].to_numpy()
    features = frame.drop(columns=[c for c in (label, weight, id) if c is not None])
    columns, dropped = infer_columns(features, source)
    schema = Schema(
        task=inferred,
        label=label,
        columns=tuple(columns),
        classes=_classes(y) if inferred == "classification" else (),
        # A table with a free-text column is "text": the text families read that column's strings.
        modality="text" if any(c.kind == "text" for c in columns) else "tabular",
        dropped=dropped,
        input_columns=tuple(features.columns),
        id_column=id,
    )
    return Dataset(X=features, y=y, schema=schema, source=source, cleaning=report, streamed=streamed, weight=weights,
                   ids=ids)


def _array_dataset(
    X: np.ndarray, y: np.ndarray, label: str, source: str, *,
    task: str | None, modality: Modality | None, drop_duplicates: bool, weight: np.ndarray | None = None,
) -> Dataset:
    check_array_dtype(X, source)
    X, y_raw, report, weight = clean_arrays(X, y, source, drop_duplicates=drop_duplicates, weight=weight)
    inferred, report.task_reason = infer_task(pd.Series(y_raw, name=label), task, source)
    y_clean = normalize_labels(y_raw, inferred)
    check_labels(y_clean, inferred, label, source)
    schema = Schema(
        task=inferred,
        label=label,
        columns=(),
        classes=_classes(y_clean) if inferred == "classification" else (),
        modality=modality or array_modality(X),
        shape=tuple(int(d) for d in X.shape[1:]),
    )
    return Dataset(X=X, y=y_clean, schema=schema, source=source, cleaning=report, weight=weight)


def _image_folder_dataset(folder: Path, *, task: str | None, drop_duplicates: bool) -> Dataset:
    from .images import read_image_folder

    images = read_image_folder(folder)
    data = _array_dataset(images.X, images.y, "label", str(folder), task=task, modality="image",
                          drop_duplicates=drop_duplicates)
    data.cleaning.n_files_skipped = len(images.skipped)
    data.cleaning.skipped_files = dict(list(images.skipped.items())[:20])
    data.cleaning.n_images_resized = images.n_resized
    return data


def _check_weight_column(frame: pd.DataFrame, weight: str, label: str, source: str) -> None:
    if weight == label:
        raise ConfigError(f"{source}: the weight column {weight!r} is the label column; name another column.")
    if weight not in frame.columns:
        raise DataError(f"{source}: weight column {weight!r} not found. Columns: {listed_columns(frame)}.")


def _find_label(frame: pd.DataFrame, label: str | None, source: str) -> str:
    columns = listed_columns(frame)
    if label is not None:
        if label not in frame.columns:
            raise DataError(f"{source}: label column {label!r} not found. Columns: {columns}.")
        return label
    by_lower = {str(c).lower(): c for c in frame.columns}
    for candidate in LABEL_CANDIDATES:
        if candidate in by_lower:
            return str(by_lower[candidate])
    raise DataError(
        f"{source}: no label column given and none named {', '.join(LABEL_CANDIDATES)}; "
        f"pass label=... (CLI: --label). Columns: {columns}."
    )


def _classes(y: np.ndarray) -> tuple[Any, ...]:
    values = pd.unique(y)
    try:
        ordered = sorted(values.tolist())
    except TypeError:
        ordered = sorted(values.tolist(), key=str)
    return tuple(ordered)


def _as_feature_array(X: Any, name: str) -> np.ndarray:
    array = np.asarray(X)
    if array.ndim < 2:
        raise DataError(
            f"{name}: expected a 2-D array (rows x features) or more, got shape {array.shape}. "
            "Reshape a single feature with X.reshape(-1, 1) or a single row with X.reshape(1, -1)."
        )
    if np.iscomplexobj(array):
        raise DataError(f"{name}: complex numbers are not supported as features.")
    if len(array) == 0:
        raise DataError(f"{name}: has no rows (shape {array.shape}).")
    return array


def _as_label_array(y: Any) -> np.ndarray:
    array = np.asarray(y)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array.ravel()
    if array.ndim != 1:
        raise DataError(f"y: expected a 1-D array of labels, got shape {array.shape}.")
    return array


def _free_label_name(frame: pd.DataFrame) -> str:
    name = "y"
    while name in frame.columns:
        name = f"_{name}"
    return name
