"""Files every stage writes: atomic directory and text writes, and safetensors arrays.

The bottom layer beside ``errors.py``: models (checkpoints, weights), the store (model
directories) and the report (report.html) all write through it, so none imports another for it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import ArtifactError

__all__ = ["atomic_directory", "recover_directory", "atomic_write_text", "atomic_write_bytes", "save_arrays",
           "load_arrays", "unreadable_errors"]


@contextmanager
def atomic_directory(target: Path, *, replace_if: str = "lepton.json") -> Iterator[Path]:
    """Yield a temporary directory that becomes ``target`` only if the block succeeds.

    An existing ``target`` is replaced only when it holds ``replace_if`` (a model lepton-ai wrote);
    anything else there is refused, never overwritten. Until the final rename the old directory
    stays intact, so a crash half-way loses nothing: what a killed writer left behind (its
    temporary directory, or the old model moved aside for the swap) is cleaned up, or put back, by
    the next write or read of ``target`` (:func:`recover_directory`). A write the disk cannot take
    (full, read-only, no permission) is an :class:`ArtifactError` naming the path.
    """
    target = Path(target)
    recover_directory(target, replace_if=replace_if)
    if target.exists() and not (target.is_dir() and (target / replace_if).exists()):
        what = "a file" if target.is_file() else "a directory that is not a lepton-ai model"
        raise ArtifactError(f"{target}: exists and is {what}; refusing to overwrite it. Choose another path.")
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=_side_name(target, "tmp"), dir=parent))
    except OSError as exc:
        raise ArtifactError(f"{target}: cannot write here ({exc.strerror or exc}).") from exc
    try:
        yield tmp
        _fsync_tree(tmp)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=_side_name(target, "old"), dir=parent))
            os.replace(target, old / "model")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        _fsync_directory(parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        where = exc.filename or target
        raise ArtifactError(f"{target}: could not be written ({exc.strerror or exc} at {where}); nothing was "
                            "replaced. Free disk space or choose another path, then save again.") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def recover_directory(target: Path, *, replace_if: str = "lepton.json") -> None:
    """Clean up after a writer of ``target`` that was killed mid-write (``kill -9``, power loss).

    Its temporary directory is removed; an old ``target`` it had moved aside and not yet removed
    is put back when ``target`` itself is missing, else removed. Directories of writers still
    alive (another process saving now) are left alone.
    """
    target = Path(target)
    parent = target.parent
    if not parent.is_dir():
        return
    for entry in sorted(parent.glob(f".{target.name}.lepton.*-*")):
        kind, pid = _side_owner(target, entry.name)
        if kind is None or not entry.is_dir() or _alive(pid):
            continue
        backup = entry / "model"
        if kind == "old" and not target.exists() and (backup / replace_if).exists():
            os.replace(backup, target)
            _fsync_directory(parent)
        shutil.rmtree(entry, ignore_errors=True)


def _side_name(target: Path, kind: str) -> str:
    return f".{target.name}.lepton.{kind}-{os.getpid()}-"


def _side_owner(target: Path, name: str) -> tuple[str | None, int | None]:
    """(``"tmp"`` or ``"old"``, the writer's pid or None when the name has none) for a side directory."""
    rest = name[len(f".{target.name}.lepton."):]
    kind, _, tail = rest.partition("-")
    if kind not in ("tmp", "old"):
        return None, None
    pid_text = tail.split("-", 1)[0]
    return kind, int(pid_text) if pid_text.isdigit() and "-" in tail else None


def _alive(pid: int | None) -> bool:
    """Whether process ``pid`` runs (this process counts as alive: its own writes are in progress)."""
    if pid is None:  # written before side directories carried a pid: the writer is long gone
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (the entry, not only the files, reaches the disk)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, an fsync and a rename: a reader sees the
    old file or the whole new one, never part of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())



def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` to a safetensors file (tensors sorted by name, so bytes are reproducible)."""
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in sorted(arrays.items())}, str(path))
    return path


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Read a safetensors file: plain tensors, no code."""
    from safetensors.numpy import load_file

    return load_file(str(path))


def unreadable_errors() -> tuple[type[BaseException], ...]:
    """What the readers of weight files raise on bytes they cannot parse (the libraries' own errors).

    A loader that meets one of these has a file whose hash matched (so nobody changed it since
    saving) but whose content is broken or of an incompatible library version: bad input to be
    reported naming the file, not an internal error.
    """
    from lightgbm.basic import LightGBMError
    from safetensors import SafetensorError

    return (OSError, ValueError, KeyError, TypeError, EOFError, RuntimeError, SafetensorError, LightGBMError)
