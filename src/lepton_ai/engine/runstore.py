"""The run store: every run and every trial in a SQL database, so a killed run resumes without
repeating work, and several nodes can share one store.

The store is a SQLAlchemy URL: ``sqlite:///<home>/runs.sqlite`` by default (WAL mode, a busy
timeout: several processes write at once), or a shared database such as
``postgresql+psycopg://user@host/db`` that searches on many machines write together (``store=``,
``--store``, ``LEPTON_STORE``). A trial row is written when the trial is queued, updated when it
starts and when it ends; on resume, ``ok``, ``failed`` and ``skipped`` trials are kept and
``queued``/``running`` ones (cut off by the kill) are run again under the same trial id.

Claims and leases: the search running a run holds it (``owner``: host, process and a random part)
with a lease it renews while it runs (:meth:`RunStore.renew`). :meth:`RunStore.claim` takes a run
for a search in one conditional ``UPDATE``, so of two nodes resuming one run at once only one gets
it, and no trial runs twice; a node that died leaves a lease that runs out (at once when the owner
was a process of this host that no longer exists), after which another node may claim the run and
rerun its cut-off trials.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import ConfigError, StoreError
from ..search.trial import TrialResult

__all__ = ["RunStore", "RunRecord", "new_run_id", "store_url", "this_owner", "LEASE_S"]

_FINAL = ("ok", "failed", "skipped")
LEASE_S = float(os.environ.get("LEPTON_LEASE_S", "30"))  # how long a run stays held without a renewal
_CONNECT_TIMEOUT_S = 5
_SCHEMA_LOCK = 0x6C6570746F6E  # "lepton": the advisory lock that serialises creating the tables
_OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus a random suffix."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def this_owner() -> str:
    """This process's name in the store: ``host:pid:random`` (the random part tells a reused pid apart)."""
    if not _OWNER.startswith(f"{socket.gethostname()}:{os.getpid()}:"):  # a forked child is another owner
        globals()["_OWNER"] = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return _OWNER


def store_url(store: str | Path) -> str:
    """A SQLAlchemy URL for ``store``: a URL as given, a path as the SQLite file it names."""
    text = str(store)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


class RunRecord(dict):  # type: ignore[type-arg]
    """A row of ``runs`` with ``config`` decoded."""


class RunStore:
    """Runs and trials in the database at ``store`` (a URL, or the path of a SQLite file). Safe to
    use from several processes, and for a server database from several machines, at once."""

    def __init__(self, store: str | Path, *, busy_timeout_ms: int = 30_000) -> None:
        import sqlalchemy as sa

        self.url = store_url(store)
        self.busy_timeout_ms = busy_timeout_ms
        try:
            url = sa.make_url(self.url)
        except sa.exc.ArgumentError as exc:
            raise ConfigError(f"store {store!r} is neither a path nor a database URL ({exc}).") from None
        self.shown = url.render_as_string(hide_password=True)
        self.sqlite = url.get_backend_name() == "sqlite"
        if self.sqlite and url.database:
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = _engine(url, busy_timeout_ms, self.shown)
        self._tables = _tables()
        try:
            self._create_tables()
        except sa.exc.OperationalError as exc:
            raise StoreError(f"run store {self.shown}: cannot open it ({_reason(exc)}). Check the address, that "
                             "the database runs and accepts this user, or use the default local store.") from None

    def _create_tables(self) -> None:
        """Create what is missing. Two processes creating the tables at once: on PostgreSQL one waits
        for the other (an advisory lock); on SQLite the one that finds them made meanwhile looks again."""
        import sqlalchemy as sa

        for attempt in range(3):
            try:
                with self.engine.begin() as db:
                    if self.engine.dialect.name == "postgresql":
                        db.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
                    self._tables["metadata"].create_all(db)
                    _add_missing_columns(db, self._tables)
                return
            except sa.exc.OperationalError as exc:
                if "already exists" not in str(exc) or attempt == 2:
                    raise

    @property
    def path(self) -> str:
        """Where the store is, for messages (the URL without its password)."""
        return self.shown

    # ---- runs ----------------------------------------------------------------------------
    def create_run(self, run_id: str, config: dict[str, Any], data_key: str | None) -> None:
        now = time.time()
        self._run(self._tables["runs"].insert().values(
            run_id=run_id, created=now, updated=now, status="running", config=json.dumps(config, default=str),
            data_key=data_key, spent_s=0.0, owner=this_owner(), lease_until=now + LEASE_S))

    def update_run(self, run_id: str, *, status: str | None = None, spent_s: float | None = None,
                   note: str | None = None) -> None:
        runs = self._tables["runs"]
        values: dict[str, Any] = {"updated": time.time()}
        for column, value in (("status", status), ("spent_s", spent_s), ("note", note)):
            if value is not None:
                values[column] = value
        if status is not None and status != "running":  # a run that ended or was interrupted holds nothing
            values.update(owner=None, lease_until=None)
        self._run(runs.update().where(runs.c.run_id == run_id).values(**values))

    def run(self, run_id: str) -> RunRecord:
        runs = self._tables["runs"]
        row = self._run(runs.select().where(runs.c.run_id == run_id)).mappings().first()
        if row is None:
            recent = self._run(runs.select().with_only_columns(runs.c.run_id).order_by(runs.c.created.desc())
                               .limit(5)).scalars().all()
            raise ConfigError(f"no run {run_id!r} in {self.shown}. Recent runs: {', '.join(recent) or 'none'}.")
        return _record(row)

    def runs(self, limit: int | None = 50) -> list[RunRecord]:
        """The newest ``limit`` runs (every run when ``None``), newest first, with trial counts."""
        import sqlalchemy as sa

        runs, trials = self._tables["runs"], self._tables["trials"]
        n_trials = sa.select(sa.func.count()).where(trials.c.run_id == runs.c.run_id).scalar_subquery()
        n_ok = (sa.select(sa.func.count()).where(trials.c.run_id == runs.c.run_id, trials.c.status == "ok")
                .scalar_subquery())
        query = sa.select(runs, n_trials.label("n_trials"), n_ok.label("n_ok")).order_by(runs.c.created.desc())
        if limit is not None:
            query = query.limit(limit)
        return [_record(row) for row in self._run(query).mappings().all()]

    def delete_run(self, run_id: str) -> None:
        """Remove the run and its trials' rows in one transaction (an unknown id is a ConfigError)."""
        self.run(run_id)
        runs, trials = self._tables["runs"], self._tables["trials"]
        self._run(trials.delete().where(trials.c.run_id == run_id), runs.delete().where(runs.c.run_id == run_id))

    # ---- claims and leases -----------------------------------------------------------------
    def claim(self, run_id: str, *, wait_s: float | None = None) -> None:
        """Hold run ``run_id`` for this process, waiting up to ``wait_s`` (default: a little over
        LEASE_S, time for a dead owner's lease to run out) for another owner's lease to end; a
        StoreError names the owner when it is still renewing it."""

        runs = self._tables["runs"]
        give_up = time.monotonic() + (1.2 * LEASE_S + 1.0 if wait_s is None else wait_s)
        while True:
            now, me = time.time(), this_owner()
            row = self.run(run_id)
            owner, until = row.get("owner"), row.get("lease_until")
            free = owner in (None, me) or until is None or until < now or _dead_here(owner)
            if free:  # compare and swap: taken only if nobody took or renewed it since it was read
                same_owner = runs.c.owner.is_(None) if owner is None else runs.c.owner == owner
                same_lease = runs.c.lease_until.is_(None) if until is None else runs.c.lease_until == until
                taken = self._run(runs.update().where(runs.c.run_id == run_id, same_owner, same_lease)
                                  .values(owner=me, lease_until=now + LEASE_S, updated=now)).rowcount
                if taken == 1:
                    return
            elif time.monotonic() >= give_up:
                left = float(until or now) - now
                raise StoreError(f"run {run_id} is held by {owner} (its lease runs {left:.0f}s more and is being "
                                 "renewed): that search is still running it. Resume it there, or wait for it to end.")
            time.sleep(max(0.01, min(1.0, (until or now) - now, give_up - time.monotonic())))

    def renew(self, run_id: str) -> None:
        """Extend this process's lease on ``run_id`` (the run loop calls it while the search runs)."""
        runs = self._tables["runs"]
        now = time.time()
        self._run(runs.update().where(runs.c.run_id == run_id, runs.c.owner == this_owner())
                  .values(lease_until=now + LEASE_S, updated=now))

    @contextmanager
    def holding(self, run_id: str) -> Iterator[None]:
        """Renew this process's lease on ``run_id`` every third of LEASE_S while the block runs (a
        daemon thread, so a search busy in a long trial or a refit keeps its run)."""
        import threading

        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(LEASE_S / 3):
                try:
                    self.renew(run_id)
                except StoreError:  # the store is away for a moment: the next renewal tries again
                    continue

        thread = threading.Thread(target=renew, name=f"lepton-lease-{run_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)

    # ---- trials --------------------------------------------------------------------------
    def put_trial(self, run_id: str, trial: TrialResult, status: str | None = None) -> None:
        """Insert or replace the trial's row; ``status`` overrides the record's (e.g. queued/running)."""
        values = {"run_id": run_id, "trial_id": trial.trial_id, "status": status or trial.status,
                  "family": trial.family, "record": json.dumps(trial.to_json(), default=str),
                  "updated": time.time(), "owner": this_owner(), "worker": trial.worker}
        self._run(self._upsert(values))

    def trials(self, run_id: str) -> list[tuple[str, TrialResult]]:
        """``(stored status, record)`` of every trial of the run, in trial-id order."""
        trials = self._tables["trials"]
        rows = self._run(trials.select().with_only_columns(trials.c.status, trials.c.record)
                         .where(trials.c.run_id == run_id).order_by(trials.c.trial_id)).all()
        return [(status, TrialResult.from_json(json.loads(record))) for status, record in rows]

    def finished_trials(self, run_id: str) -> list[TrialResult]:
        return [t for status, t in self.trials(run_id) if status in _FINAL]

    # ---- internals -------------------------------------------------------------------------
    def _upsert(self, values: dict[str, Any]) -> Any:
        trials = self._tables["trials"]
        if self.sqlite:
            from sqlalchemy.dialects.sqlite import insert
        elif self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
        else:
            raise ConfigError(f"run store {self.shown}: only SQLite and PostgreSQL stores are built.")
        statement = insert(trials).values(**values)
        kept = {k: statement.excluded[k] for k in values if k not in ("run_id", "trial_id")}
        return statement.on_conflict_do_update(index_elements=["run_id", "trial_id"], set_=kept)

    def _run(self, *statements: Any) -> Any:
        """Execute ``statements`` in one transaction; the result of the last (rows read before the
        connection closes: SQLAlchemy's frozen result; a write's ``rowcount`` stays readable). A
        database that went away is a StoreError naming the store."""
        import sqlalchemy as sa

        try:
            with self.engine.begin() as db:
                for statement in statements:
                    result = db.execute(statement)
                return result.freeze()() if result.returns_rows else result
        except sa.exc.OperationalError as exc:
            raise StoreError(f"run store {self.shown}: {_reason(exc)}. The run can be resumed once the store "
                             "is reachable again (lepton runs resume RUN).") from None


def _tables() -> dict[str, Any]:
    import sqlalchemy as sa

    metadata = sa.MetaData()
    runs = sa.Table(
        "runs", metadata,
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("created", sa.Float, nullable=False), sa.Column("updated", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False), sa.Column("config", sa.Text, nullable=False),
        sa.Column("data_key", sa.String(128)), sa.Column("spent_s", sa.Float, nullable=False, server_default="0"),
        sa.Column("note", sa.Text), sa.Column("owner", sa.String(255)), sa.Column("lease_until", sa.Float),
    )
    trials = sa.Table(
        "trials", metadata,
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.run_id"), primary_key=True),
        sa.Column("trial_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False), sa.Column("family", sa.String(64), nullable=False),
        sa.Column("record", sa.Text, nullable=False), sa.Column("updated", sa.Float, nullable=False),
        sa.Column("owner", sa.String(255)), sa.Column("worker", sa.String(255)),
    )
    return {"metadata": metadata, "runs": runs, "trials": trials}


def _add_missing_columns(db: Any, tables: dict[str, Any]) -> None:
    """Add the columns a store written by an older lepton-ai lacks (owner, lease_until, worker)."""
    import sqlalchemy as sa

    inspector = sa.inspect(db)
    for name in ("runs", "trials"):
        present = {c["name"] for c in inspector.get_columns(name)}
        for column in tables[name].columns:
            if column.name not in present:
                kind = column.type.compile(dialect=db.dialect)
                db.execute(sa.text(f'ALTER TABLE {name} ADD COLUMN "{column.name}" {kind}'))


def _engine(url: Any, busy_timeout_ms: int, shown: str) -> Any:
    import sqlalchemy as sa

    if url.get_backend_name() == "sqlite":
        from sqlalchemy.pool import NullPool

        # One connection per operation, as sqlite3 gives: nothing held across a fork or between calls.
        engine = sa.create_engine(url, poolclass=NullPool, connect_args={"timeout": busy_timeout_ms / 1000})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _: Any) -> None:
            _use_wal(connection, busy_timeout_ms)
            connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            connection.execute("PRAGMA synchronous = NORMAL")
        return engine
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = _CONNECT_TIMEOUT_S
    try:
        return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except ModuleNotFoundError as exc:
        raise StoreError(f"run store {shown}: its database driver is not installed ({exc.name}); for PostgreSQL "
                         "install lepton-ai[cluster] (psycopg).") from None
    except sa.exc.NoSuchModuleError:
        raise StoreError(f"run store {shown}: unknown kind of database; use a SQLite path or a "
                         "postgresql+psycopg://user@host/db URL.") from None


def _use_wal(connection: Any, busy_timeout_ms: int) -> None:
    """Put the file in WAL mode (it stays so). Changing the journal mode fails at once with "database
    is locked", without waiting, while another process opens the file: retry."""
    import sqlite3

    give_up = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= give_up:
                raise
            time.sleep(0.05)


def _record(row: Any) -> RunRecord:
    record = RunRecord(dict(row))
    record["config"] = json.loads(record["config"])
    return record


def _dead_here(owner: str) -> bool:
    """Whether ``owner`` was a process of this host that no longer runs (its lease is void at once)."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's live process
        return False
    return _zombie(int(pid))


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


def _reason(exc: Exception) -> str:
    """The first line of a driver's error, without the SQL statement SQLAlchemy appends."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
