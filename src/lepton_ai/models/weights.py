"""Arrays to and from safetensors files: the weight format of every non-tree family."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["save_arrays", "load_arrays"]


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` to a safetensors file (tensors sorted by name, so bytes are reproducible)."""
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in sorted(arrays.items())}, str(path))
    return path


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Read a safetensors file: plain tensors, no code."""
    from safetensors.numpy import load_file

    return load_file(str(path))
