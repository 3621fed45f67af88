"""The run store: every run and every trial in SQLite, so a killed run resumes without repeating work.

One database file (``<home>/runs.sqlite``) in WAL mode with a busy timeout, so several runs (or
processes) can write at once. A trial row is written when the trial is queued, updated when it
starts and when it ends; on resume, ``ok``, ``failed`` and ``skipped`` trials are kept and
``queued``/``running`` ones (cut off by the kill) are run again under the same trial id.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..search.trial import TrialResult

__all__ = ["RunStore", "RunRecord", "new_run_id"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    data_key TEXT,
    spent_s REAL NOT NULL DEFAULT 0,
    note TEXT
);
CREATE TABLE IF NOT EXISTS trials (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    trial_id TEXT NOT NULL,
    status TEXT NOT NULL,
    family TEXT NOT NULL,
    record TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (run_id, trial_id)
);
"""
_FINAL = ("ok", "failed", "skipped")


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus a random suffix."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


class RunRecord(dict):  # type: ignore[type-arg]
    """A row of ``runs`` with ``config`` decoded."""


class RunStore:
    """Runs and trials in ``path`` (SQLite). Safe to use from several processes at once."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 30_000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.busy_timeout_ms = busy_timeout_ms
        with self._connect() as db:
            self._use_wal(db)
            db.executescript(_SCHEMA)

    def _use_wal(self, db: sqlite3.Connection) -> None:
        """Put the file in WAL mode (it stays so). Changing the journal mode fails at once with
        "database is locked", without waiting, while another process opens the file: retry."""
        give_up = time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= give_up:
                    raise
                time.sleep(0.05)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            db.execute("PRAGMA synchronous = NORMAL")
            db.row_factory = sqlite3.Row
            yield db
        finally:
            db.close()

    # ---- runs ----------------------------------------------------------------------------
    def create_run(self, run_id: str, config: dict[str, Any], data_key: str | None) -> None:
        now = time.time()
        with self._connect() as db:
            db.execute("INSERT INTO runs (run_id, created, updated, status, config, data_key) VALUES (?,?,?,?,?,?)",
                       (run_id, now, now, "running", json.dumps(config, default=str), data_key))

    def update_run(self, run_id: str, *, status: str | None = None, spent_s: float | None = None,
                   note: str | None = None) -> None:
        sets: list[str] = ["updated = ?"]
        values: list[str | float] = [time.time()]
        for column, value in (("status", status), ("spent_s", spent_s), ("note", note)):
            if value is not None:
                sets.append(f"{column} = ?")
                values.append(value)
        with self._connect() as db:
            db.execute(f"UPDATE runs SET {', '.join(sets)} WHERE run_id = ?", (*values, run_id))

    def run(self, run_id: str) -> RunRecord:
        with self._connect() as db:
            row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                ids = [r[0] for r in db.execute("SELECT run_id FROM runs ORDER BY created DESC LIMIT 5")]
                raise ConfigError(f"no run {run_id!r} in {self.path}. Recent runs: {', '.join(ids) or 'none'}.")
        record = RunRecord(dict(row))
        record["config"] = json.loads(record["config"])
        return record

    def runs(self, limit: int | None = 50) -> list[RunRecord]:
        """The newest ``limit`` runs (every run when ``None``), newest first, with trial counts."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT r.*, (SELECT COUNT(*) FROM trials t WHERE t.run_id = r.run_id) AS n_trials, "
                "(SELECT COUNT(*) FROM trials t WHERE t.run_id = r.run_id AND t.status = 'ok') AS n_ok "
                "FROM runs r ORDER BY created DESC LIMIT ?", (-1 if limit is None else limit,)).fetchall()
        out = []
        for row in rows:
            record = RunRecord(dict(row))
            record["config"] = json.loads(record["config"])
            out.append(record)
        return out

    def delete_run(self, run_id: str) -> None:
        """Remove the run and its trials' rows in one transaction (an unknown id is a ConfigError)."""
        self.run(run_id)
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM trials WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            db.execute("COMMIT")

    # ---- trials --------------------------------------------------------------------------
    def put_trial(self, run_id: str, trial: TrialResult, status: str | None = None) -> None:
        """Insert or replace the trial's row; ``status`` overrides the record's (e.g. queued/running)."""
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO trials (run_id, trial_id, status, family, record, updated) "
                "VALUES (?,?,?,?,?,?)",
                (run_id, trial.trial_id, status or trial.status, trial.family,
                 json.dumps(trial.to_json(), default=str), time.time()),
            )

    def trials(self, run_id: str) -> list[tuple[str, TrialResult]]:
        """``(stored status, record)`` of every trial of the run, in trial-id order."""
        with self._connect() as db:
            rows = db.execute("SELECT status, record FROM trials WHERE run_id = ? ORDER BY trial_id",
                              (run_id,)).fetchall()
        return [(row["status"], TrialResult.from_json(json.loads(row["record"]))) for row in rows]

    def finished_trials(self, run_id: str) -> list[TrialResult]:
        return [t for status, t in self.trials(run_id) if status in _FINAL]
