"""Sequences of feature frames (``T x F`` per row), ragged or padded, to one zero-padded ``N x T x F`` array.

Sequences reach lepton-ai as an ``.npz`` with ``x`` of shape N×T×F (optionally with ``lengths``), as
``x`` concatenated along time (``sum(T_i) x F``) with ``lengths``, or as a Python list of ``T_i x F``
arrays. All become float32 ``N x T x F``, zero-padded at the end, where T is the longest sequence
(capped at :data:`MAX_SEQUENCE_STEPS`). Frames past a row's length are exactly zero, so the true
lengths are recovered by :func:`sequence_lengths` instead of travelling beside the array.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import cast

import numpy as np

from ..errors import DataError

__all__ = ["MAX_SEQUENCE_STEPS", "pad_sequences", "from_lengths", "sequence_lengths", "fit_steps", "is_ragged"]

# Longer sequences are cut to this many steps: one outlier must not multiply the memory of every row.
MAX_SEQUENCE_STEPS = 2048


def is_ragged(X: object) -> bool:
    """True for a list or tuple of per-row arrays of different shapes (NumPy cannot stack them)."""
    if not isinstance(X, (list, tuple)) or not X:
        return False
    if not all(isinstance(row, (np.ndarray, list, tuple)) for row in X):
        return False
    return len({np.shape(row) for row in X}) > 1


def pad_sequences(rows: Sequence[object], source: str, *, steps: int | None = None) -> np.ndarray:
    """Stack ``T_i x F`` rows (1-D rows are one feature) into float32 ``N x T x F``, zero-padded at the end.

    ``T`` is ``steps`` when given, else the longest row capped at :data:`MAX_SEQUENCE_STEPS`; longer
    rows are cut (with a warning). Rows with another feature count than row 0 are an error naming the row.
    """
    arrays = [_as_frames(row, i, source) for i, row in enumerate(rows)]
    if not arrays:
        raise DataError(f"{source}: no sequences were given.")
    n_features = arrays[0].shape[1]
    for i, frames in enumerate(arrays):
        if frames.shape[1] != n_features:
            raise DataError(f"{source}: row {i} has {frames.shape[1]} features per step, but row 0 has {n_features}; "
                            "every sequence needs the same number of features.")
    longest = max(len(frames) for frames in arrays)
    T = steps if steps is not None else max(1, min(longest, MAX_SEQUENCE_STEPS))
    out = np.zeros((len(arrays), T, n_features), dtype=np.float32)
    n_cut = 0
    for i, frames in enumerate(arrays):
        n_cut += len(frames) > T
        out[i, : min(len(frames), T)] = frames[:T]
    if n_cut:
        warnings.warn(f"{source}: {n_cut} sequence(s) longer than {T} steps were cut to {T}.", stacklevel=3)
    return out


def from_lengths(x: np.ndarray, lengths: np.ndarray, source: str) -> np.ndarray:
    """Apply ``lengths`` to ``x``: N×T×F gets its padding zeroed, concatenated ``sum(T_i) x F`` is split and padded."""
    lengths = np.asarray(lengths)
    if x.dtype.kind not in "biuf":
        raise DataError(f"{source}: x has dtype {x.dtype}; sequences must be numbers (bool, integer or float).")
    if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer) or (lengths < 0).any():
        raise DataError(f"{source}: 'lengths' must be a 1-D array of non-negative integers; got "
                        f"{lengths.dtype} of shape {lengths.shape}.")
    if x.ndim == 3:
        if len(lengths) != len(x):
            raise DataError(f"{source}: 'lengths' has {len(lengths)} entries but x has {len(x)} sequences.")
        too_long = np.flatnonzero(lengths > x.shape[1])
        if len(too_long):
            row = int(too_long[0])
            raise DataError(f"{source}: row {row} has length {int(lengths[row])}, "
                            f"more than the {x.shape[1]} steps of x.")
        out = np.array(x, dtype=np.float32)
        out[np.arange(x.shape[1])[None, :] >= lengths[:, None]] = 0.0
        return out
    if x.ndim in (1, 2):
        if int(lengths.sum()) != len(x):
            raise DataError(f"{source}: x holds {len(x)} frames but 'lengths' sums to {int(lengths.sum())}; "
                            "for concatenated sequences they must match.")
        return pad_sequences(np.split(x, np.cumsum(lengths)[:-1]), source)
    raise DataError(f"{source}: with 'lengths', x must be N x T x F or concatenated frames (sum of lengths x F); "
                    f"got shape {x.shape}.")


def sequence_lengths(X: np.ndarray) -> np.ndarray:
    """True lengths of zero-padded sequences ``X`` (N, T, F): the last frame with a non-zero value, plus 1.

    ``X`` must hold raw values (Dataset.X or the "codes" view reshaped), not standardised ones. A row of
    zeros only has length 1, so every sequence has at least one step.
    """
    real = cast(np.ndarray, np.asarray(X).reshape(len(X), X.shape[1], -1).any(axis=2))
    last = X.shape[1] - np.argmax(real[:, ::-1], axis=1)
    return np.where(real.any(axis=1), last, 1).astype(np.int64)


def fit_steps(X: np.ndarray, shape: tuple[int, ...], source: str) -> np.ndarray:
    """Pad or cut sequences ``X`` (N, T', F) to the trained ``shape`` (T, F); another F is an error."""
    T, F = int(shape[0]), int(shape[1])
    if X.ndim == 2 and F == 1:
        X = X[:, :, None]
    if X.ndim != 3 or X.shape[2] != F:
        got = X.shape[2] if X.ndim == 3 else f"shape {X.shape[1:]}"
        raise DataError(f"{source}: expected sequences of {F} features per step (N x T x {F}); got {got}.")
    if X.shape[1] == T:
        return X
    if X.shape[1] > T:
        warnings.warn(f"{source}: sequences have {X.shape[1]} steps; the model was trained on {T}, so they are "
                      f"cut to {T}.", stacklevel=3)
        return X[:, :T]
    out = np.zeros((len(X), T, F), dtype=np.result_type(X.dtype, np.float32))
    out[:, : X.shape[1]] = X
    return out


def _as_frames(row: object, i: int, source: str) -> np.ndarray:
    try:
        frames = np.asarray(row, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{source}: row {i} is not a numeric T x F array ({exc}).") from exc
    if frames.ndim == 1:
        frames = frames[:, None]
    if frames.ndim != 2:
        raise DataError(f"{source}: row {i} has shape {frames.shape}; expected a T x F array (steps x features).")
    return frames
