"""Many Parquet files read as one table: the layout Spark, Hive or ``pyarrow.dataset`` writes.

A Spark job writes a folder, not a file::

    sales/_SUCCESS
    sales/year=2026/region=north/part-00000-<uuid>.c000.snappy.parquet
    sales/year=2026/region=north/.part-00000-<uuid>.c000.snappy.parquet.crc

``pyarrow.dataset`` reads it: the ``col=value`` folders (Hive partitioning) become columns whose
types pyarrow infers from the values, and names starting with ``.`` or ``_`` (checksums, markers,
``_temporary`` folders of a job still running or one that died) are skipped. On top of that:

* **partition types** — pyarrow infers integers (``year=2026``) and strings. A string partition whose
  every value is an ISO date (``dt=2026-01-31``) becomes a date (``datetime.date`` values: a date
  column, read as calendar features, as the same dates read from a CSV are), any other
  string partition a pandas ``category`` column.
* **schema drift** — pyarrow takes the first file's schema and silently fills or fails on the
  others; here every file's footer is read first, and a column missing from some files or of
  another kind of type (integer vs text) is a :class:`DataError` naming the files and the columns.
  Widths within one kind (int32 and int64, float and double) are unified with
  ``pyarrow.unify_schemas``, as Spark's own writers change them between jobs.
* **corrupt files** — a file whose footer or pages cannot be read is a :class:`DataError` naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataError

__all__ = ["PARQUET_SUFFIXES", "IGNORED_PREFIXES", "read_parquet_files", "open_parquet_dataset", "typed_partitions"]

PARQUET_SUFFIXES = (".parquet", ".pq")
# What Spark and Hadoop write beside the data: _SUCCESS, _committed_*, _temporary/, .crc checksums.
IGNORED_PREFIXES = (".", "_")
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
_SHOWN_DIFFERENCES = 6


def read_parquet_files(files: list[Path], base_dir: Path, source: str) -> pd.DataFrame:
    """Read ``files`` as one table, with the Hive partitions of their paths below ``base_dir`` as columns.

    ``source`` names the folder or glob in messages; file names in messages are relative to ``base_dir``.
    """
    dataset, kinds = open_parquet_dataset(files, base_dir, source)
    table = _read_table(dataset, base_dir.absolute(), source)
    return typed_partitions(table, kinds).to_pandas()


def open_parquet_dataset(files: list[Path], base_dir: Path, source: str) -> tuple[Any, dict[str, str]]:
    """The ``pyarrow.dataset`` of ``files`` under their unified schema (every footer checked), and
    how each text partition column is typed (``"date"`` or ``"category"``), decided from every
    partition value so that each batch read from it is typed alike."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    base_dir = base_dir.absolute()  # pyarrow strips partition_base_dir from each path as a string prefix
    paths = [str(f.absolute()) for f in files]
    try:
        dataset = ds.dataset(paths, format="parquet", partitioning="hive", partition_base_dir=str(base_dir))
    except (pa.ArrowException, OSError) as exc:  # discovery reads the first footer
        # Discovery merges the first file's schema with the partitions' only: a clash is a column
        # that is also a folder name (year=2026/ above files holding 'year').
        clash = (" A column in the files has the name of a partition folder (name=value/); rename one of them."
                 if "Unable to merge" in str(exc) else "")
        raise DataError(f"{source}: cannot be read as Parquet ({_first_line(exc)}).{clash}") from exc
    partitions = list(dataset.partitioning.schema) if dataset.partitioning is not None else []
    schema = _unified_schema(dataset, partitions, base_dir, source)
    # Reopened with the unified schema: each file is cast to it as it is read (int32 -> int64).
    dataset = ds.dataset(paths, schema=schema, format="parquet", partitioning=dataset.partitioning,
                         partition_base_dir=str(base_dir))
    return dataset, _partition_kinds(dataset, [f.name for f in partitions if _is_text(f.type)])


def _unified_schema(dataset: Any, partitions: list[Any], base_dir: Path, source: str) -> Any:
    """The files' common schema plus the partition columns, or a DataError showing how the files differ."""
    import pyarrow as pa

    schemas: dict[str, Any] = {}
    for fragment in dataset.get_fragments():
        name = _relative(fragment.path, base_dir)
        try:
            schemas[name] = fragment.physical_schema
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{source}: {name} is not a readable Parquet file ({_first_line(exc)}). "
                            "Remove it or write it again.") from exc
    differences = _differences(schemas)
    if differences:
        shown = "; ".join(differences[:_SHOWN_DIFFERENCES])
        more = f"; and {len(differences) - _SHOWN_DIFFERENCES} more" if len(differences) > _SHOWN_DIFFERENCES else ""
        raise DataError(f"{source}: the Parquet files do not share one schema: {shown}{more}. Write every file "
                        "with the same columns and types (e.g. select and cast the columns before writing).")
    unified = pa.unify_schemas(list(schemas.values()), promote_options="permissive")
    return pa.schema(list(unified) + [f for f in partitions if f.name not in unified.names])


def _differences(schemas: dict[str, Any]) -> list[str]:
    """How each file's columns differ from the first file's: missing, extra, or of another kind of type."""
    (first, reference), *others = schemas.items()
    found: list[str] = []
    for name, schema in others:
        for field in reference:
            if field.name not in schema.names:
                found.append(f"{name} lacks column {field.name!r} ({field.type} in {first})")
            elif _kind(schema.field(field.name).type) != _kind(field.type):
                found.append(f"column {field.name!r} is {schema.field(field.name).type} in {name} "
                             f"but {field.type} in {first}")
        found += [f"{name} has column {f.name!r} ({f.type}) that {first} lacks"
                  for f in schema if f.name not in reference.names]
    return found


def _kind(arrow_type: Any) -> str:
    """The family of an Arrow type: widths within one family are unified, families never mixed."""
    import pyarrow.types as pt

    for kind, test in (("integer", pt.is_integer), ("floating", pt.is_floating), ("text", _is_text),
                       ("binary", _is_binary), ("timestamp", pt.is_timestamp), ("date", pt.is_date),
                       ("decimal", pt.is_decimal)):
        if test(arrow_type):
            return kind
    return str(arrow_type)


def _is_text(arrow_type: Any) -> bool:
    import pyarrow.types as pt

    return bool(pt.is_string(arrow_type) or pt.is_large_string(arrow_type) or pt.is_string_view(arrow_type))


def _is_binary(arrow_type: Any) -> bool:
    import pyarrow.types as pt

    return bool(pt.is_binary(arrow_type) or pt.is_large_binary(arrow_type) or pt.is_binary_view(arrow_type))


def _read_table(dataset: Any, base_dir: Path, source: str) -> Any:
    """Read every file; when that fails, read them one by one to name the file that is broken."""
    import pyarrow as pa

    try:
        return dataset.to_table()
    except (pa.ArrowException, OSError) as exc:
        for fragment in dataset.get_fragments():
            try:
                fragment.to_table(schema=dataset.schema)
            except (pa.ArrowException, OSError) as bad:
                raise DataError(f"{source}: {_relative(fragment.path, base_dir)} cannot be read as Parquet "
                                f"({_first_line(bad)}). Remove it or write it again.") from bad
        raise DataError(f"{source}: cannot be read as Parquet ({_first_line(exc)}).") from exc


def _partition_kinds(dataset: Any, names: list[str]) -> dict[str, str]:
    """``"date"`` for a text partition whose every value is an ISO date, else ``"category"``."""
    import re

    import pyarrow.dataset as ds

    values: dict[str, set[str]] = {name: set() for name in names}
    for fragment in dataset.get_fragments():
        for name, value in ds.get_partition_keys(fragment.partition_expression).items():
            if name in values and value is not None:
                values[name].add(str(value))
    return {name: "date" if found and all(re.match(_ISO_DATE, v) and _is_date(v) for v in found) else "category"
            for name, found in values.items()}


def _is_date(text: str) -> bool:
    import datetime

    try:
        datetime.date.fromisoformat(text)
    except ValueError:  # 2026-13-01 looks like a date but is not one: the partition stays a category
        return False
    return True


def typed_partitions(table: Any, kinds: dict[str, str]) -> Any:
    """The text partitions of the Arrow ``table`` as ``kinds`` says: dates, or dictionaries (pandas categories)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for name, kind in kinds.items():
        if name not in table.column_names:
            continue
        column = table[name]
        typed = pc.cast(column, pa.date32()) if kind == "date" else pc.dictionary_encode(column)
        table = table.set_column(table.schema.get_field_index(name), name, typed)
    return table


def _relative(path: str, base_dir: Path) -> str:
    try:
        return str(Path(path).relative_to(base_dir))
    except ValueError:
        return path


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
