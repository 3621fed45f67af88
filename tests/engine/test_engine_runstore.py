"""The run store: SQLite or a shared PostgreSQL, claims and leases, old stores, unreachable databases."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from postgres_server import postgres

from lepton_ai import SinglePointTechnique
from lepton_ai.engine import runstore
from lepton_ai.engine.runstore import RunStore
from lepton_ai.errors import StoreError
from lepton_ai.search.trial import TrialResult

_OLD_SCHEMA = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, created REAL NOT NULL, updated REAL NOT NULL, status TEXT NOT NULL,
                   config TEXT NOT NULL, data_key TEXT, spent_s REAL NOT NULL DEFAULT 0, note TEXT);
CREATE TABLE trials (run_id TEXT NOT NULL REFERENCES runs(run_id), trial_id TEXT NOT NULL, status TEXT NOT NULL,
                     family TEXT NOT NULL, record TEXT NOT NULL, updated REAL NOT NULL,
                     PRIMARY KEY (run_id, trial_id));
"""


def _trial(trial_id: str = "t000", status: str = "ok") -> TrialResult:
    return TrialResult(trial_id=trial_id, index=int(trial_id[1:]), family="linear", params={"C": 1.0}, status=status,
                       dev_metric=0.9 if status == "ok" else None)


def test_a_store_an_older_version_wrote_gets_the_new_columns(tmp_path):
    path = tmp_path / "runs.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(_OLD_SCHEMA)
        db.execute("INSERT INTO runs VALUES ('r1', 1, 1, 'finished', '{\"budget_s\": 5}', 'k', 2.5, NULL)")
        db.execute("INSERT INTO trials VALUES ('r1', 't000', 'ok', 'linear', ?, 1)", (_json(_trial()),))
    store = RunStore(path)
    assert store.run("r1")["spent_s"] == 2.5 and store.run("r1")["owner"] is None
    assert [t.trial_id for t in store.finished_trials("r1")] == ["t000"]
    store.put_trial("r1", _trial("t001"))
    assert [t.trial_id for t in store.finished_trials("r1")] == ["t000", "t001"]


def _json(trial: TrialResult) -> str:
    import json

    return json.dumps(trial.to_json())


@pytest.fixture
def as_owner(monkeypatch):
    """Act as the process ``name`` (``host:pid:tag``) in the store."""
    def become(name: str) -> None:
        monkeypatch.setattr(runstore, "this_owner", lambda: name)
    return become


def test_a_run_held_by_a_live_node_is_refused_naming_it(tmp_path, as_owner):
    store = RunStore(tmp_path / "runs.sqlite")
    as_owner("node-a:41:aa")
    store.create_run("r1", {"budget_s": 5}, None)
    as_owner("node-b:42:bb")
    started = time.monotonic()
    with pytest.raises(StoreError, match="run r1 is held by node-a:41:aa"):
        store.claim("r1", wait_s=0.3)
    assert time.monotonic() - started < 3


def test_a_dead_nodes_lease_runs_out_and_then_one_claimer_gets_the_run(tmp_path, as_owner, monkeypatch):
    monkeypatch.setattr(runstore, "LEASE_S", 0.5)
    store = RunStore(tmp_path / "runs.sqlite")
    as_owner("node-a:41:aa")
    store.create_run("r1", {"budget_s": 5}, None)  # node a dies here: nobody renews its lease
    as_owner("node-b:42:bb")
    store.claim("r1", wait_s=5)  # waits for the lease to run out
    assert store.run("r1")["owner"] == "node-b:42:bb"
    as_owner("node-c:43:cc")  # b renews; c cannot take it from under b
    store.renew("r1")
    with pytest.raises(StoreError, match="held by node-b"):
        store.claim("r1", wait_s=0.2)
    as_owner("node-a:41:aa")  # a coming back cannot renew what it lost
    store.renew("r1")
    assert store.run("r1")["owner"] == "node-b:42:bb"


def test_a_dead_process_of_this_host_frees_its_run_at_once(tmp_path, as_owner):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store = RunStore(tmp_path / "runs.sqlite")
    as_owner(f"{socket.gethostname()}:{dead.pid}:aa")
    store.create_run("r1", {"budget_s": 5}, None)
    as_owner(f"{socket.gethostname()}:{os.getpid()}:bb")
    started = time.monotonic()
    store.claim("r1", wait_s=10)
    assert time.monotonic() - started < 1 and store.run("r1")["owner"].endswith(":bb")


def test_an_ended_run_holds_nothing_and_holding_renews_the_lease(tmp_path, monkeypatch):
    monkeypatch.setattr(runstore, "LEASE_S", 0.3)
    store = RunStore(tmp_path / "runs.sqlite")
    store.create_run("r1", {"budget_s": 5}, None)
    with store.holding("r1"):
        time.sleep(0.8)
        assert store.run("r1")["lease_until"] > time.time()
    store.update_run("r1", status="finished")
    assert store.run("r1")["owner"] is None and store.run("r1")["lease_until"] is None


def test_an_unreachable_database_is_a_clear_error_within_seconds_without_its_password():
    pytest.importorskip("psycopg")
    started = time.monotonic()
    with pytest.raises(StoreError, match="127.0.0.1:9") as caught:
        RunStore("postgresql+psycopg://lepton:s3cret@127.0.0.1:9/runs")
    assert time.monotonic() - started < 10
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(("store", "message"), [("mysql+nodriver://h/db", "unknown kind of database|not installed"),
                                                ("oracle://h/db", "only SQLite and PostgreSQL|not installed")])
def test_a_store_that_is_not_built_is_named(store, message):
    with pytest.raises(StoreError, match=message):
        store_obj = RunStore(store)
        store_obj.put_trial("r", _trial())


# ---- a real PostgreSQL server -------------------------------------------------------------------
@pytest.fixture(scope="module")
def pg():
    with postgres() as server:
        yield server


_SEARCH = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from conftest import make_table
    from lepton_ai import SinglePointTechnique
    engine = SinglePointTechnique(budget="60s", families=["linear", "gbdt"], workers=1, home={home!r},
                                  store={store!r}, max_trials={max_trials})
    print(engine.search(make_table(300, seed={seed}), label="species").run_id)
""")


def _search_script(home, store, max_trials=5, seed=0):
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return _SEARCH.format(tests=tests, home=str(home), store=store, max_trials=max_trials, seed=seed)


def test_two_searches_write_one_postgresql_store_at_once(pg, tmp_path):
    processes = [subprocess.Popen([sys.executable, "-c", _search_script(tmp_path / f"node{s}", pg.url, seed=s)],
                                  stdout=subprocess.PIPE, text=True) for s in (1, 2)]
    run_ids = [p.communicate(timeout=300)[0].strip().splitlines()[-1] for p in processes]
    assert all(p.returncode == 0 for p in processes)
    store = RunStore(pg.url)
    assert set(run_ids) <= {r["run_id"] for r in store.runs()}
    for run_id in run_ids:
        trials = store.trials(run_id)
        ids = [t.trial_id for _, t in trials]
        assert len(ids) == len(set(ids)) and len([t for _, t in trials if t.family != "ensemble"]) == 5
        assert {s for s, _ in trials} <= {"ok", "failed", "skipped"}
        assert store.run(run_id)["status"] == "finished" and store.run(run_id)["owner"] is None


def test_nodes_opening_a_new_postgresql_store_at_once_create_its_tables_once(pg):
    import threading

    import psycopg

    with psycopg.connect(pg.url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as db:
        db.execute("CREATE DATABASE fresh")
    url = pg.url.rsplit("/", 1)[0] + "/fresh"
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def open_store() -> None:
        start.wait()
        try:
            RunStore(url).runs()
        except BaseException as exc:  # collected: the assertion below shows any
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_runs_list_reads_the_store_given_by_flag_and_environment(pg, tmp_path, table):
    from typer.testing import CliRunner

    from lepton_ai.cli.main import app

    result = SinglePointTechnique(budget="10s", families=["linear"], home=tmp_path, store=pg.url,
                                  max_trials=1).search(table, label="species")
    by_flag = CliRunner().invoke(app, ["runs", "list", "--store", pg.url])
    assert by_flag.exit_code == 0 and result.run_id in by_flag.output and "127.0.0.1" in by_flag.output
    by_env = CliRunner().invoke(app, ["runs", "show", result.run_id], env={"LEPTON_STORE": pg.url})
    assert by_env.exit_code == 0 and f"run {result.run_id}: finished" in by_env.output


def test_a_database_that_goes_away_mid_run_fails_the_run_cleanly_and_it_resumes(tmp_path, table):
    from lepton_ai.engine.callbacks import Callback

    with postgres() as server:
        class StopTheDatabase(Callback):
            def on_trial_end(self, trial):
                server.stop()

        engine = SinglePointTechnique(budget="30s", families=["linear", "gbdt"], workers=1, home=tmp_path,
                                      store=server.url, max_trials=4)
        started = time.monotonic()
        with pytest.raises(StoreError, match="127.0.0.1") as caught:
            engine.search(table, label="species", callbacks=[StopTheDatabase()])
        assert time.monotonic() - started < 60 and "lepton runs resume" in str(caught.value)
        server.start()
        store = RunStore(server.url)
        (run,) = store.runs()
        result = SinglePointTechnique(workers=1, home=tmp_path, store=server.url).resume(run["run_id"])
        ids = [t.trial_id for t in result.trials if t.family != "ensemble"]
        assert len(ids) == len(set(ids)) == 4
        assert {s for s, _ in store.trials(run["run_id"])} <= {"ok", "failed", "skipped"}
        assert store.run(run["run_id"])["status"] == "finished"
