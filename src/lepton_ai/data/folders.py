"""What a folder or a glob holds: a Parquet dataset, an image folder, or several CSV files.

A folder is read by what is in it, never by its name: Parquet files anywhere below it (the layout
Spark writes, see ``data.parquet``) make a table; image files make an image folder (one sub-folder
per class, see ``data.images``); anything else is a :class:`DataError` saying what was found. Names
starting with ``.`` or ``_`` are skipped as Spark and Hadoop mean them to be (``_SUCCESS``,
``.crc`` checksums, ``_temporary``).

A glob (``"data/*.parquet"``, ``"logs/2026-*.csv"``) names its files directly: Parquet files are
read as one dataset whose Hive partitions are the folders below the glob's fixed prefix; CSV/TSV
files are each read with the checks of ``data.readers`` and stacked, and must have the same columns.
"""

from __future__ import annotations

import glob
import os
import re
from collections import Counter
from pathlib import Path
from typing import Literal

import pandas as pd

from ..errors import DataError
from .images import IMAGE_SUFFIXES
from .parquet import IGNORED_PREFIXES, PARQUET_SUFFIXES, read_parquet_files
from .readers import normalize_columns, read_table

__all__ = ["FolderKind", "folder_kind", "read_parquet_folder", "parquet_folder_files", "is_glob", "glob_files",
           "read_glob"]

FolderKind = Literal["parquet", "images"]
_TEXT_TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
_MAGIC = re.compile(r"[*?\[]")


def folder_kind(folder: Path) -> FolderKind:
    """Say whether ``folder`` holds a Parquet dataset or images; a DataError naming what it holds otherwise."""
    files = _data_files(folder)
    suffixes = Counter(f.suffix.lower() for f in files)
    n_parquet = sum(suffixes[s] for s in PARQUET_SUFFIXES)
    n_images = sum(suffixes[s] for s in IMAGE_SUFFIXES)
    if n_parquet and n_images:
        raise DataError(f"{folder}: holds both Parquet files ({n_parquet}) and images ({n_images}); a folder "
                        "must be one table or one image folder. Move one kind elsewhere.")
    if n_parquet:
        return "parquet"
    if n_images:
        return "images"
    if not files:
        raise DataError(f"{folder}: the folder holds no data file{_skipped_note(folder)}. Expected Parquet files "
                        "(e.g. as Spark writes them) or one sub-folder of PNG/JPEG images per class.")
    found = ", ".join(f"{n} {s or '(no suffix)'}" for s, n in suffixes.most_common(5))
    tables = sum(suffixes[s] for s in _TEXT_TABLE_SUFFIXES)
    hint = f" To read its CSV/TSV files as one table, pass a glob such as '{folder}/*.csv'." if tables else ""
    raise DataError(f"{folder}: found no Parquet or image file, only {len(files)} other file(s) ({found}). "
                    f"Expected Parquet files or one sub-folder of PNG/JPEG images per class.{hint}")


def read_parquet_folder(folder: Path) -> pd.DataFrame:
    """Read every Parquet file below ``folder`` as one table with its Hive partitions as columns."""
    files = parquet_folder_files(folder)
    return _checked(read_parquet_files(files, folder, str(folder)), str(folder), len(files))


def parquet_folder_files(folder: Path) -> list[Path]:
    """The Parquet files below ``folder`` (sorted; Spark's markers and checksums skipped)."""
    return [f for f in _data_files(folder) if f.suffix.lower() in PARQUET_SUFFIXES]


def glob_files(pattern: str) -> tuple[list[Path], Path]:
    """The files ``pattern`` matches (sorted; hidden and marker files skipped) and the folder their
    Hive partitions are below."""
    files = sorted(Path(p) for p in glob.glob(pattern, recursive=True)
                   if Path(p).is_file() and not Path(p).name.startswith(IGNORED_PREFIXES))
    return files, _fixed_prefix(pattern)


def is_glob(source: object) -> bool:
    """A string with glob characters that is not itself an existing path."""
    return isinstance(source, str) and bool(_MAGIC.search(source)) and not Path(source).exists()


def read_glob(pattern: str, *, sep: str | None = None, encoding: str = "utf-8") -> pd.DataFrame:
    """Read the Parquet or CSV/TSV files ``pattern`` matches as one table."""
    files, base = glob_files(pattern)
    if not files:
        raise DataError(f"{pattern}: the pattern matches no file.")
    suffixes = Counter(f.suffix.lower() for f in files)
    if set(suffixes) <= set(PARQUET_SUFFIXES):
        return _checked(read_parquet_files(files, base, pattern), pattern, len(files))
    if set(suffixes) <= set(_TEXT_TABLE_SUFFIXES):
        return _stack_text_tables(files, pattern, sep=sep, encoding=encoding)
    found = ", ".join(f"{n} {s or '(no suffix)'}" for s, n in suffixes.most_common(5))
    raise DataError(f"{pattern}: the pattern matches files of several kinds ({found}); expected only Parquet "
                    "files or only CSV/TSV files. Narrow the pattern, e.g. '*.parquet'.")


def _stack_text_tables(files: list[Path], pattern: str, *, sep: str | None, encoding: str) -> pd.DataFrame:
    """Each file read with the single-file checks, then stacked; their columns must match by name.

    Only names are compared: a type read from text depends on the values of one file (a column
    with a stray '?' in one file), which cleaning reconciles after stacking.
    """
    frames = [read_table(f, sep=sep, encoding=encoding) for f in files]
    first, columns = files[0], list(frames[0].columns)
    for path, frame in zip(files[1:], frames[1:], strict=True):
        missing = [c for c in columns if c not in frame.columns]
        extra = [c for c in frame.columns if c not in columns]
        if missing or extra:
            parts = ([f"lacks {', '.join(map(repr, missing))}"] if missing else []) + (
                [f"has {', '.join(map(repr, extra))} that {first.name} lacks"] if extra else [])
            raise DataError(f"{pattern}: {path} {' and '.join(parts)} (columns of {first}: "
                            f"{', '.join(columns[:10])}{' ...' if len(columns) > 10 else ''}). "
                            "Every file must have the same columns.")
    return pd.concat([f[columns] for f in frames], ignore_index=True)


def _checked(frame: pd.DataFrame, source: str, n_files: int) -> pd.DataFrame:
    if len(frame) == 0:
        raise DataError(f"{source}: its {n_files} Parquet file(s) hold no rows (columns: "
                        f"{', '.join(map(str, frame.columns[:10]))}).")
    return normalize_columns(frame, source)


def _data_files(folder: Path) -> list[Path]:
    """Files below ``folder``, sorted, skipping names (files or folders) that start with '.' or '_'."""
    found: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(IGNORED_PREFIXES))
        found += [Path(root) / n for n in sorted(names) if not n.startswith(IGNORED_PREFIXES)]
    return found


def _skipped_note(folder: Path) -> str:
    skipped = sorted(p.name for p in folder.iterdir() if p.name.startswith(IGNORED_PREFIXES))
    if not skipped:
        return ""
    return f" (skipped as Spark/Hadoop markers or hidden: {', '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''})"


def _fixed_prefix(pattern: str) -> Path:
    """The folder above the first path part of ``pattern`` that holds a glob character: the partition root."""
    fixed: list[str] = []
    for part in Path(pattern).parts[:-1]:
        if _MAGIC.search(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")
