"""Every row of a table too big for memory, prepared batch by batch into a file the final fit reads.

A search on a sample (``data.stream``) fits the preparation on the sample's training rows; a family
that learns from rows in batches (``ModelFamily.streams``: LightGBM through its ``Sequence``) is
then trained once more on the rows of the whole table. ``write_streamed`` reads the table a batch
at a time, prepares each batch with the fitted preparer in that family's view, and appends the
float32 rows to one file; ``RowFile`` reads them back a slice at a time with ``pread`` (not a
memory map: pages of a mapped file count as the process's memory, and the file is larger than
memory by design).

Rows held out of the search (the sampled rows that are neither training nor dev rows: a test split
made from the sample) are left out, so a test score of the final model stays honest. When the rows
left still need more memory than the final fit may take, the rows with the lowest draws are kept
(``data.stream.row_draws``): the sample's own rows are among them whenever the share kept is at
least the sample's.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.coerce import to_input
from ..data.dataset import Dataset
from ..data.stream import StreamedRows, TableStream, row_draws, run_apart
from .cache import prepare
from .prepared import Prepared, View
from .tabular import TabularPreparer

__all__ = ["RowFile", "StreamedFeatures", "write_streamed", "read_streamed", "load_streamed"]

_X, _Y, _META = "X.f32", "y.npy", "meta.json"


class RowFile:
    """Float32 rows of ``n_features`` in a file, read by position: ``rows[i]``, ``rows[a:b]``.

    ``batch_size`` is how many rows a reader should take at a time (LightGBM's ``Sequence`` reads
    that many in each call).
    """

    batch_size = 65_536

    def __init__(self, path: str | Path, n_rows: int, n_features: int) -> None:
        self.path, self.n_rows, self.n_features = str(path), int(n_rows), int(n_features)
        self._fd: int | None = None
        self.shape = (self.n_rows, self.n_features)

    def __len__(self) -> int:
        return self.n_rows

    def __getitem__(self, index: int | slice) -> np.ndarray:
        if isinstance(index, slice):
            start, stop, step = index.indices(self.n_rows)
            if step != 1:
                raise IndexError("RowFile reads contiguous slices only")
            return self._read(start, max(start, stop))
        position = int(index) + (self.n_rows if int(index) < 0 else 0)
        if not 0 <= position < self.n_rows:
            raise IndexError(f"row {index} is outside 0..{self.n_rows - 1}")
        return self._read(position, position + 1)[0]

    def _read(self, start: int, stop: int) -> np.ndarray:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        width = 4 * self.n_features
        data = os.pread(self._fd, (stop - start) * width, start * width)
        return np.frombuffer(data, dtype=np.float32).reshape(stop - start, self.n_features)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_fd": None}

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)  # type: ignore[arg-type]


@dataclass(frozen=True)
class StreamedFeatures:
    """Where ``write_streamed`` put the rows, and how many it wrote of how many the table has."""

    directory: Path
    n_rows: int
    n_table_rows: int
    n_held_out: int


def write_streamed(preparer: TabularPreparer, train: Dataset, dev: Dataset, view: View, directory: Path,
                   max_rows: int, deadline: float | None = None, *, apart: bool = True) -> StreamedFeatures:
    """Prepare every row of the table ``train`` was sampled from (less the sampled rows that are
    neither ``train`` nor ``dev``), at most ``max_rows`` of them, into ``directory`` (written whole or
    not at all). ``deadline`` (``time.time()``), checked between batches, stops the pass early: the
    rows so far are kept.

    The pass runs in a child process (``data.stream.run_apart``; ``apart=False``: here), so what
    reading the table took is given back when it exits.
    """
    streamed: StreamedRows = train.streamed
    assert streamed is not None and dev.streamed is not None, "write_streamed needs rows sampled from a table"
    searched = np.union1d(streamed.positions, dev.streamed.positions)
    if not apart:
        return _write_here(preparer, streamed.stream, streamed.fraction, streamed.seed, searched, view, directory,
                           max_rows, deadline)
    directory.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".lepton-pass-", dir=directory.parent) as scratch:
        np.save(Path(scratch) / "searched.npy", searched, allow_pickle=False)
        job = {"schema": preparer.schema.to_json(), "preparer": preparer.to_json(),
               "stream": streamed.stream.to_json(), "fraction": streamed.fraction, "seed": streamed.seed,
               "searched": str(Path(scratch) / "searched.npy"), "view": view, "directory": str(directory),
               "max_rows": int(max_rows), "deadline": deadline}
        (Path(scratch) / "job.json").write_text(json.dumps(job, default=str))
        run_apart("lepton_ai.features.streamed", ["write", str(Path(scratch) / "job.json")], streamed.stream.source)
    written = read_streamed(directory)
    assert written is not None, f"the pass wrote no {directory / _META}"
    return written


def read_streamed(directory: Path) -> StreamedFeatures | None:
    """What ``write_streamed`` wrote to ``directory`` earlier, or ``None`` when it holds nothing whole."""
    if not (directory / _META).is_file():
        return None
    meta = json.loads((directory / _META).read_text())
    return StreamedFeatures(directory, int(meta["n_rows"]), int(meta["n_table_rows"]), int(meta["n_held_out"]))


def _write_here(preparer: TabularPreparer, table: TableStream, fraction: float, seed: int, searched: np.ndarray,
                view: View, directory: Path, max_rows: int, deadline: float | None) -> StreamedFeatures:
    schema = preparer.schema
    keep_share = min(1.0, max_rows / max(1, table.n_rows))
    directory.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    n_rows = held_out = 0
    labels: list[np.ndarray] = []
    n_features = 0
    try:
        with open(work / _X, "wb") as out:
            for first, frame in table.batches():
                draws = row_draws(first, len(frame), seed)
                positions = np.arange(first, first + len(frame))
                sampled = draws < fraction
                outside = sampled & ~np.isin(positions, searched, assume_unique=False)
                held_out += int(outside.sum())
                keep = np.flatnonzero(~outside & (draws < keep_share))
                if not len(keep):
                    continue
                part = to_input(frame.iloc[keep].reset_index(drop=True), schema)
                prepared = prepare(preparer, part, view)  # rows with a missing or unknown label are dropped
                X = np.ascontiguousarray(prepared.X, dtype=np.float32)
                n_features = X.shape[1]
                out.write(X.tobytes())
                assert prepared.y is not None
                # A copy: the labels may be a view of the batch's whole block of columns, which would stay.
                labels.append(np.array(prepared.y, copy=True))
                n_rows += len(X)
                if n_rows >= max_rows or (deadline is not None and time.time() >= deadline):
                    break
            out.flush()
            os.fsync(out.fileno())
        y = np.concatenate(labels) if labels else np.zeros(0)
        np.save(work / _Y, y[:n_rows], allow_pickle=False)
        meta = {"n_rows": n_rows, "n_features": n_features, "n_table_rows": table.n_rows, "n_held_out": held_out,
                "view": view, "source": table.source}
        (work / _META).write_text(json.dumps(meta))
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(work, directory)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return StreamedFeatures(directory, n_rows, table.n_rows, held_out)


def load_streamed(directory: str | Path, like: Prepared) -> Prepared:
    """The rows ``write_streamed`` wrote, as a Prepared whose ``X`` is a :class:`RowFile`; task,
    classes and categorical columns as in ``like`` (the sample's split of the same view)."""
    directory = Path(directory)
    meta = json.loads((directory / _META).read_text())
    y = np.load(directory / _Y, allow_pickle=False)
    rows = RowFile(directory / _X, meta["n_rows"], meta["n_features"])
    return Prepared(X=rows, y=y, task=like.task, n_classes=like.n_classes,  # type: ignore[arg-type]
                    categorical=list(like.categorical), shape=like.shape)


def _main(argv: list[str]) -> int:
    """``python -m lepton_ai.features.streamed write JOB_JSON``: a child's pass (see write_streamed)."""
    import sys

    from ..data.dataset import Schema
    from ..errors import DataError

    if argv[:1] != ["write"] or len(argv) != 2:
        raise SystemExit(f"usage: python -m lepton_ai.features.streamed write JOB_JSON; got {argv}")
    job = json.loads(Path(argv[1]).read_text())
    preparer = TabularPreparer.from_json(Schema.from_json(job["schema"]), job["preparer"])
    stream = TableStream.from_json(job["stream"])
    searched = np.load(job["searched"], allow_pickle=False)
    try:
        _write_here(preparer, stream, float(job["fraction"]), int(job["seed"]), searched, job["view"],
                    Path(job["directory"]), int(job["max_rows"]), job["deadline"])
    except DataError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
