"""Epoch progress across the process boundary: a training loop appends one JSON line per epoch.

Trials run in forked worker processes, so a neural family cannot call the parent's progress view
directly. The worker names a file in the ``LEPTON_EPOCH_LOG`` environment variable (see
:func:`epoch_log`) for the length of ``fit``; the training loop calls :func:`log_epoch` after each
epoch, which appends ``{"epoch", "n_epochs", **metrics}`` to that file, or does nothing when the
variable is unset (a family fitted outside a search). The search loop in the parent reads new
lines with :class:`EpochLogReader` and hands each record to the callbacks' ``on_epoch``.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["EPOCH_LOG_ENV", "log_epoch", "epoch_log", "EpochLogReader"]

EPOCH_LOG_ENV = "LEPTON_EPOCH_LOG"


def log_epoch(epoch: int, n_epochs: int | None, **metrics: float | None) -> None:
    """Record that epoch ``epoch`` (1-based) of at most ``n_epochs`` finished, with its metrics.

    Metrics are floats such as ``train_loss``, ``dev_loss`` or ``dev_metric``. Never raises: a
    progress file that cannot be written costs the display, not the trial.
    """
    path = os.environ.get(EPOCH_LOG_ENV)
    if not path:
        return
    record: dict[str, Any] = {"epoch": int(epoch), "n_epochs": None if n_epochs is None else int(n_epochs)}
    for name, value in metrics.items():
        record[name] = None if value is None or not math.isfinite(float(value)) else float(value)
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
    except OSError as exc:
        os.environ.pop(EPOCH_LOG_ENV, None)  # warn once, then stop trying for this process
        warnings.warn(f"epoch progress is not shown: cannot write {path} ({exc.strerror or exc}).", stacklevel=2)


@contextmanager
def epoch_log(path: str | Path | None) -> Iterator[None]:
    """Within the block, :func:`log_epoch` appends to ``path`` (nothing happens for ``None``)."""
    if path is None:
        yield
        return
    before = os.environ.get(EPOCH_LOG_ENV)
    os.environ[EPOCH_LOG_ENV] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(EPOCH_LOG_ENV, None)
        else:
            os.environ[EPOCH_LOG_ENV] = before


class EpochLogReader:
    """Reads the records appended to several epoch logs since the last read, one log per key.

    ``poll`` reads at most every ``min_interval_s`` (the search loop polls far more often);
    a line still being written (no newline yet) waits for the next read.
    """

    def __init__(self, min_interval_s: float = 0.2) -> None:
        self.min_interval_s = min_interval_s
        self._files: dict[str, tuple[Path, int]] = {}
        self._last = 0.0

    def watch(self, key: str, path: Path) -> None:
        """Start following ``path`` under ``key``; a stale log from an earlier attempt is removed."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self._files[key] = (path, 0)

    def forget(self, key: str) -> list[dict[str, Any]]:
        """Stop following ``key``; return the records it wrote since the last read."""
        if key not in self._files:
            return []
        records = self._read(key)
        del self._files[key]
        return records

    def poll(self) -> list[tuple[str, dict[str, Any]]]:
        """New records of every followed log, as ``(key, record)`` in the order they were written."""
        now = time.monotonic()
        if now - self._last < self.min_interval_s:
            return []
        self._last = now
        return [(key, record) for key in list(self._files) for record in self._read(key)]

    def _read(self, key: str) -> list[dict[str, Any]]:
        path, offset = self._files[key]
        try:
            with open(path, "rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
        except FileNotFoundError:  # no epoch finished yet, or not a neural family
            return []
        end = chunk.rfind(b"\n") + 1
        self._files[key] = (path, offset + end)
        records = []
        for line in chunk[:end].splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a torn line from a killed worker; the next ones still count
        return records
