"""Epoch progress across the process boundary: a training loop appends one JSON line per epoch.

Trials run in forked worker processes, so a neural family cannot call the parent's progress view
directly. The training loop passes :func:`epoch_record` of each finished epoch to the fit's
``Budget.on_epoch``; the worker makes that an :class:`EpochFile` on the file the search loop named
for the trial (``TrialSpec.epoch_log``), which appends ``{"epoch", "n_epochs", **metrics}`` as one
line. The search loop in the parent reads new lines with :class:`EpochLogReader` and hands each
record to the callbacks' ``on_epoch``. A family fitted outside a search gets no ``on_epoch``.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path
from typing import Any

__all__ = ["epoch_record", "EpochFile", "EpochLogReader"]


def epoch_record(epoch: int, n_epochs: int | None, **metrics: float | None) -> dict[str, Any]:
    """The record of epoch ``epoch`` (1-based) of at most ``n_epochs``, with its metrics.

    Metrics are floats such as ``train_loss``, ``dev_loss`` or ``dev_metric``; a non-finite one
    becomes ``None`` (JSON has no NaN).
    """
    record: dict[str, Any] = {"epoch": int(epoch), "n_epochs": None if n_epochs is None else int(n_epochs)}
    for name, value in metrics.items():
        record[name] = None if value is None or not math.isfinite(float(value)) else float(value)
    return record


class EpochFile:
    """``Budget.on_epoch`` that appends each record to ``path`` as one JSON line.

    Never raises: a progress file that cannot be written costs the display, not the trial. The
    first failure warns, and the file is not tried again.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._broken = False

    def __call__(self, record: dict[str, Any]) -> None:
        if self._broken:
            return
        try:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
        except OSError as exc:
            self._broken = True
            warnings.warn(f"epoch progress is not shown: cannot write {self.path} ({exc.strerror or exc}).",
                          stacklevel=2)


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
