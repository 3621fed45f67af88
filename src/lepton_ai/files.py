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

__all__ = ["atomic_directory", "atomic_write_text", "save_arrays", "load_arrays"]


@contextmanager
def atomic_directory(target: Path, *, replace_if: str = "lepton.json") -> Iterator[Path]:
    """Yield a temporary directory that becomes ``target`` only if the block succeeds.

    An existing ``target`` is replaced only when it holds ``replace_if`` (a model lepton-ai wrote);
    anything else there is refused, never overwritten. Until the final rename the old directory
    stays intact, so a crash half-way loses nothing.
    """
    target = Path(target)
    if target.exists() and not (target.is_dir() and (target / replace_if).exists()):
        what = "a file" if target.is_file() else "a directory that is not a lepton-ai model"
        raise ArtifactError(f"{target}: exists and is {what}; refusing to overwrite it. Choose another path.")
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.lepton.tmp-", dir=parent))
    except OSError as exc:
        raise ArtifactError(f"{target}: cannot write here ({exc.strerror or exc}).") from exc
    try:
        yield tmp
        _fsync_tree(tmp)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.lepton.old-", dir=parent))
            os.replace(target, old / "model")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
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
