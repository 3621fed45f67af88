"""Tables bigger than memory: Parquet read in batches, sized before a row is read.

``open_stream`` looks at a Parquet file, folder (as Spark writes it) or glob without reading its
data: the row count from the footers, the bytes a row takes in a DataFrame from the first rows.
``load_data`` compares that with the memory limit; a table that would not fit is never read
whole: the search gets a seeded sample of its rows (``sample_rows``), and a family that can
learn from rows in batches (LightGBM through its ``Sequence``) reads every row later
(``TableStream.batches``).

Each pass over the table runs in a child process (:func:`run_apart`): a process that read a table
keeps much of what reading allocated, and the search's process should hold the sample only.

Rows are drawn by a hash of their position in the table (``row_draws``), not by a random stream:
the same rows are drawn in every pass and on every node, a smaller share is always inside a larger
one, and which rows the sample held (and so which of them were held out for a test) is known
again from the positions alone.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from .folders import folder_kind, glob_files, is_glob, parquet_folder_files
from .parquet import PARQUET_SUFFIXES, open_parquet_dataset, typed_partitions
from .readers import normalize_columns

__all__ = ["TableStream", "StreamedRows", "open_stream", "row_draws", "sample_rows", "run_apart", "BATCH_ROWS"]

BATCH_ROWS = 65_536
_PROBE_ROWS = 4_096  # rows read to learn what one row takes in memory
_POSITION = "__lepton_position__"  # the column a child's sample carries its table positions in
_DATA_ERROR = 2  # a child's exit code for a DataError (its message is its last line of stderr)


@dataclass(frozen=True)
class TableStream:
    """A Parquet table on disk: its files (in a fixed order), row count and in-memory row size."""

    files: tuple[str, ...]
    base_dir: str
    source: str
    n_rows: int
    bytes_per_row: float
    # The largest row group, decoded (its footer's total_byte_size): reading decodes one at a time,
    # and the reader holds about twice that while it does.
    max_group_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, fields: dict[str, Any]) -> TableStream:
        return cls(**{**fields, "files": tuple(fields["files"])})

    @property
    def memory_bytes(self) -> float:
        """What the whole table takes as a DataFrame (estimated from its first rows)."""
        return self.n_rows * self.bytes_per_row

    def batches(self, batch_rows: int = BATCH_ROWS, columns: list[str] | None = None
                ) -> Iterator[tuple[int, pd.DataFrame]]:
        """Every row in order, ``batch_rows`` at a time: (position of the batch's first row, rows).

        A file that turns out unreadable half-way is a DataError naming it.
        """
        import pyarrow as pa

        dataset, kinds = open_parquet_dataset([Path(f) for f in self.files], Path(self.base_dir), self.source)
        first = 0
        for fragment in sorted(dataset.get_fragments(), key=lambda f: f.path):
            try:
                for batch in _read(fragment, dataset.schema, batch_rows, columns):
                    if batch.num_rows:
                        frame = typed_partitions(pa.Table.from_batches([batch]), kinds).to_pandas(
                            memory_pool=_pool())
                        yield first, normalize_columns(frame, self.source)
                        first += batch.num_rows
            except (pa.ArrowException, OSError) as exc:
                raise DataError(f"{self.source}: {_relative(fragment.path, self.base_dir)} cannot be read as "
                                f"Parquet ({str(exc).strip().splitlines()[0]}). Remove it or write it again.") from exc
            _give_back()


@dataclass(frozen=True)
class StreamedRows:
    """A Dataset's link to the table it was sampled from: rows whose draw is below ``fraction``
    (``row_draws`` with ``seed``) made the sample; ``positions`` are the table positions of the
    Dataset's own rows."""

    stream: TableStream
    fraction: float
    seed: int
    positions: np.ndarray

    def take(self, index: np.ndarray) -> StreamedRows:
        return StreamedRows(self.stream, self.fraction, self.seed, self.positions[index])


def open_stream(source: Any) -> TableStream | None:
    """The Parquet table at ``source`` (a file, a folder of Parquet files, a glob of them), measured
    but not read; ``None`` for any other source."""
    files, base = _parquet_files(source)
    if not files:
        return None
    import pyarrow as pa

    dataset, kinds = open_parquet_dataset(files, base, str(source))
    fragments = sorted(dataset.get_fragments(), key=lambda f: f.path)
    n_rows = sum(int(f.metadata.num_rows) for f in fragments)
    groups = [f.metadata.row_group(i).total_byte_size for f in fragments for i in range(f.metadata.num_row_groups)]
    first = next((f for f in fragments if f.metadata.num_rows), fragments[0])
    try:
        probe = next(iter(_read(first, dataset.schema, _PROBE_ROWS, None)), None)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{source}: {_relative(first.path, str(base.absolute()))} cannot be read as Parquet "
                        f"({str(exc).strip().splitlines()[0]}). Remove it or write it again.") from exc
    per_row = 0.0
    if probe is not None and probe.num_rows:
        frame = normalize_columns(typed_partitions(pa.Table.from_batches([probe]), kinds).to_pandas(), str(source))
        per_row = float(frame.memory_usage(deep=True, index=False).sum()) / len(frame)
    return TableStream(files=tuple(sorted(str(f.absolute()) for f in files)), base_dir=str(base.absolute()),
                       source=str(source), n_rows=n_rows, bytes_per_row=per_row,
                       max_group_bytes=int(max(groups, default=0)))


def _read(fragment: Any, schema: Any, batch_rows: int, columns: list[str] | None) -> Iterator[Any]:
    """The record batches of one file, read page by page: no read-ahead of other batches or files,
    no buffering of a whole row group's bytes before decoding it."""
    import pyarrow.dataset as ds

    options = ds.ParquetFragmentScanOptions(pre_buffer=False, use_buffered_stream=True, buffer_size=1 << 20)
    return iter(fragment.to_batches(schema=schema, batch_size=batch_rows, columns=columns, batch_readahead=0,
                                    fragment_readahead=0, fragment_scan_options=options, memory_pool=_pool()))


def _pool() -> Any:
    """The allocator of every pass over a table: the C library's. Arrow's default (mimalloc) keeps
    what a pass freed for later, so a process that read a table bigger than memory would hold a few
    row groups' worth of memory for the rest of its life; freed with ``_give_back``, this one does not."""
    import pyarrow as pa

    return pa.system_memory_pool()


def _give_back() -> None:
    """Return the memory a file's batches took to the operating system (glibc keeps freed memory)."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return  # other C libraries return freed memory their own way
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # glibc's; musl has none
    if trim is not None:
        trim(0)


def row_draws(first: int, n: int, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) for each table position ``first .. first + n - 1``: SplitMix64 of
    the position and the seed, so a row's draw depends on nothing but where it is."""
    z = np.arange(first, first + n, dtype=np.uint64) + np.uint64((seed * 0x9E3779B97F4A7C15 + 1) % 2**64)
    with np.errstate(over="ignore"):
        z = z * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


def sample_rows(stream: TableStream, fraction: float, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows whose draw is below ``fraction``, read batch by batch, and their table positions.

    The pass runs in a child process (:func:`run_apart`): what reading the table took is given
    back when it exits, and this process holds only the sample, which comes back as a Parquet file.
    """
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="lepton-sample-") as scratch:
        out = Path(scratch) / "sample.parquet"
        run_apart("lepton_ai.data.stream", ["sample", json.dumps(stream.to_json()), repr(fraction),
                                            str(seed), str(out)], stream.source)
        frame = pq.read_table(out).to_pandas()
    positions = frame.pop(_POSITION).to_numpy(dtype=np.int64)
    return frame, positions


def run_apart(module: str, args: list[str], source: str) -> None:
    """Run ``python -m module args`` for a pass over a table bigger than memory and wait for it.

    A process that read a table keeps much of what it allocated (the C allocator's arenas, Arrow's
    buffers, pandas' blocks): a pass in a child of its own gives all of it back when the child
    exits. A child that fails with a DataError exits 2 with its message, which is raised here as
    it was; any other failure is a DataError naming the pass, with the child's last output.
    """
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True)
    if done.returncode == 0:
        return
    lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
    if done.returncode == _DATA_ERROR and lines:
        raise DataError(lines[-1])
    tail = "\n".join(lines[-8:]) or f"exit code {done.returncode}"
    raise DataError(f"{source}: the pass over the table failed ({module} {args[0]}): {tail}")


def _sample_here(stream: TableStream, fraction: float, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    parts, positions = [], []
    for first, frame in stream.batches():
        keep = np.flatnonzero(row_draws(first, len(frame), seed) < fraction)
        if len(keep):
            parts.append(frame.iloc[keep])
            positions.append(keep + first)
    if not parts:
        raise DataError(f"{stream.source}: a sample of {fraction:.2%} of its {stream.n_rows} rows holds no row.")
    frame = pd.concat(parts, ignore_index=True)
    for name in frame.columns:  # batches' categories differ; the sample's are the union
        if isinstance(parts[0][name].dtype, pd.CategoricalDtype) and not isinstance(frame[name].dtype,
                                                                                     pd.CategoricalDtype):
            frame[name] = frame[name].astype("category")
    return frame, np.concatenate(positions).astype(np.int64)


def _main(argv: list[str]) -> int:
    """``python -m lepton_ai.data.stream sample STREAM_JSON FRACTION SEED OUT``: a child's pass."""
    import sys

    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if argv[:1] != ["sample"] or len(argv) != 5:
            raise SystemExit(f"usage: python -m lepton_ai.data.stream sample STREAM_JSON FRACTION SEED OUT; got {argv}")
        stream = TableStream.from_json(json.loads(argv[1]))
        frame, positions = _sample_here(stream, float(argv[2]), int(argv[3]))
        table = pa.Table.from_pandas(frame.assign(**{_POSITION: positions}), preserve_index=False)
        pq.write_table(table, argv[4])
    except DataError as exc:
        print(str(exc), file=sys.stderr)
        return _DATA_ERROR
    return 0


def _parquet_files(source: Any) -> tuple[list[Path], Path]:
    if isinstance(source, str) and is_glob(source):
        files, base = glob_files(source)
        parquet = bool(files) and all(f.suffix.lower() in PARQUET_SUFFIXES for f in files)
        return (files, base) if parquet else ([], base)
    if not isinstance(source, (str, Path)):
        return [], Path(".")
    path = Path(source)
    if path.is_file() and path.suffix.lower() in PARQUET_SUFFIXES:
        return [path], path.parent
    if path.is_dir() and folder_kind(path) == "parquet":
        return parquet_folder_files(path), path
    return [], path


def _relative(path: str, base_dir: str) -> str:
    try:
        return str(Path(path).relative_to(base_dir))
    except ValueError:
        return path


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
