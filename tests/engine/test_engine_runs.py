"""The run store and the feature cache: resume after a kill, concurrent writers, no repeated preparation."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from lepton_ai import SinglePointTechnique
from lepton_ai.engine.runstore import RunStore
from lepton_ai.errors import ConfigError

SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from conftest import make_table
    from lepton_ai import SinglePointTechnique
    engine = SinglePointTechnique(budget="120s", families=["linear", "gbdt", "mlp"], workers=1,
                                  home={home!r}, max_trials={max_trials})
    result = engine.search(make_table(400, seed={seed}), label="species")
    print(result.run_id)
""")


def _script(home, max_trials=12, seed=0):
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return SCRIPT.format(tests=tests, home=str(home), max_trials=max_trials, seed=seed)


def _trial_rows(home):
    with sqlite3.connect(home / "runs.sqlite") as db:
        try:
            return db.execute("SELECT run_id, trial_id, status FROM trials").fetchall()
        except sqlite3.OperationalError as exc:  # the store's tables are not created yet
            if "no such table" not in str(exc):
                raise
            return []


def test_a_run_killed_with_sigkill_resumes_without_losing_or_repeating_trials(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", _script(tmp_path)], stdout=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if (tmp_path / "runs.sqlite").exists() and sum(s == "ok" for *_, s in _trial_rows(tmp_path)) >= 3:
            break
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = {(t, s) for _, t, s in _trial_rows(tmp_path)}
    finished_before = {t for t, s in before if s == "ok"}
    assert len(finished_before) >= 3
    run_id = _trial_rows(tmp_path)[0][0]
    store = RunStore(tmp_path / "runs.sqlite")
    records_before = {t.trial_id: t.to_json() for t in store.finished_trials(run_id)}

    result = SinglePointTechnique(workers=1, home=tmp_path).resume(run_id)
    ids = [t.trial_id for t in result.trials]
    assert len(ids) == len(set(ids)), "a trial was duplicated"
    assert finished_before <= set(ids)
    for trial in result.trials:  # finished trials are kept as they were (a refit may replace timings and model)
        if trial.trial_id in records_before:
            after, before = trial.to_json(), records_before[trial.trial_id]
            for key in ("family", "params", "status", "dev_metric", "fit_s", "error"):
                assert after[key] == before[key]
    searched = [t for t in result.trials if t.family != "ensemble"]  # an ensemble of them may join at the end
    assert len(searched) == 12 and all(t.status in ("ok", "failed", "skipped") for t in result.trials)
    assert store.run(run_id)["status"] == "finished"
    assert all(result.models[t] is not None for t in result.models)


def test_two_runs_write_the_store_at_once(tmp_path):
    processes = [subprocess.Popen([sys.executable, "-c", _script(tmp_path, max_trials=6, seed=s)],
                                  stdout=subprocess.PIPE, text=True) for s in (1, 2)]
    run_ids = [p.communicate(timeout=300)[0].strip().splitlines()[-1] for p in processes]
    assert all(p.returncode == 0 for p in processes)
    store = RunStore(tmp_path / "runs.sqlite")
    assert {r["run_id"] for r in store.runs()} == set(run_ids)
    for run_id in run_ids:  # six searched trials each (an ensemble of them may join at the end)
        assert len([t for _, t in store.trials(run_id) if t.family != "ensemble"]) == 6


def test_the_same_data_is_prepared_once_within_and_across_runs(tmp_path, table, monkeypatch):
    import lepton_ai.features.cache as cache

    calls = []
    original = cache.prepare_all
    monkeypatch.setattr(cache, "prepare_all", lambda *a, **k: calls.append(1) or original(*a, **k))
    engine = SinglePointTechnique(budget="10s", families=["linear"], home=tmp_path, max_trials=2)
    engine.search(table, label="species")
    engine.search(table, label="species")
    SinglePointTechnique(budget="10s", families=["linear"], home=tmp_path, max_trials=2).search(table, label="species")
    assert len(calls) == 1
    engine.search(table.assign(x1=table["x1"] + 1), label="species")  # other data: prepared anew
    assert len(calls) == 2


def test_runs_are_listed_with_their_trials(tmp_path, table):
    engine = SinglePointTechnique(budget="10s", families=["linear"], home=tmp_path, max_trials=3)
    result = engine.search(table, label="species")
    runs = engine.store.runs()
    # Three searched trials (which third one TPE samples depends on timing; an ensemble of them may join).
    assert len([t for t in result.trials if t.family != "ensemble"]) == 3
    assert runs[0]["run_id"] == result.run_id and runs[0]["n_trials"] == len(result.trials)
    assert runs[0]["n_ok"] == len(result.trials) and all(t.ok for t in result.trials)
    assert runs[0]["config"]["families"] == ["linear"]
    stored = engine.store.trials(result.run_id)
    assert [t.trial_id for _, t in stored] == [t.trial_id for t in sorted(result.trials, key=lambda t: t.trial_id)]
    assert json.dumps(runs[0]["config"])


def test_unknown_run_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="no run 'nope'"):
        SinglePointTechnique(home=tmp_path).resume("nope")


def test_a_deleted_run_leaves_nothing_but_features_another_run_uses(tmp_path, table):
    engine = SinglePointTechnique(budget="10s", families=["linear"], home=tmp_path, max_trials=1, refit=False)
    first = engine.search(table, label="species")
    second = engine.search(table, label="species")  # the same data: the same prepared features
    other = engine.search(table.assign(x1=table["x1"] * 2), label="species")
    keys = {r["run_id"]: r["data_key"] for r in engine.store.runs()}
    assert keys[first.run_id] == keys[second.run_id] != keys[other.run_id]

    engine.delete_run(first.run_id)
    assert first.run_id not in {r["run_id"] for r in engine.store.runs()}
    assert engine.store.trials(first.run_id) == []
    assert not (tmp_path / "runs" / first.run_id).exists()
    assert engine.cache.load(keys[first.run_id]) is not None  # the second run still uses them

    engine.delete_run(other.run_id)
    assert engine.cache.load(keys[other.run_id]) is None  # no run uses them any more
    assert (tmp_path / "runs" / second.run_id / "trials").is_dir()
    with pytest.raises(ConfigError, match="no run"):
        engine.delete_run(other.run_id)


def test_prune_keeps_the_newest_runs_and_those_still_running(tmp_path, table):
    engine = SinglePointTechnique(budget="10s", families=["linear"], home=tmp_path, max_trials=1, refit=False)
    ids = [engine.search(table, label="species").run_id for _ in range(3)]
    engine.store.update_run(ids[0], status="running")  # as a run killed mid-way, waiting for resume
    assert engine.prune_runs(keep=1) == [ids[1]]
    assert [r["run_id"] for r in engine.store.runs()] == [ids[2], ids[0]]
    with pytest.raises(ConfigError, match="keep must be an int"):
        engine.prune_runs(keep=-1)


def test_a_saved_model_outlives_its_deleted_run(tmp_path, table):
    from lepton_ai import LeptonModel, load_model, save_model

    engine = SinglePointTechnique(budget="10s", families=["linear"], home=tmp_path / "home", max_trials=1)
    model = LeptonModel(engine=engine, verbose=0).train(table, label="species")
    expected = model.predict(table)
    save_model(tmp_path / "model", model)
    engine.delete_run(model.result_.run_id)
    assert (load_model(tmp_path / "model").predict(table) == expected).all()


def _cut_off(engine, result, spent_s):
    """The run as a kill would leave it: its last searched trial still 'running', the run interrupted."""
    last = max((t for t in result.trials if t.family != "ensemble"), key=lambda t: t.trial_id)
    engine.store.put_trial(result.run_id, last, status="running")
    engine.store.update_run(result.run_id, status="interrupted", spent_s=spent_s)
    return last.trial_id


def test_resume_with_the_budget_spent_fails_a_cut_off_trial_with_its_cause(tmp_path, table):
    engine = SinglePointTechnique(budget="10s", families=["linear"], home=tmp_path, max_trials=3, refit=False)
    result = engine.search(table, label="species")
    cut = _cut_off(engine, result, spent_s=11.0)
    resumed = engine.resume(result.run_id)
    stored = dict((t.trial_id, (status, t)) for status, t in engine.store.trials(result.run_id))
    assert stored[cut][0] == "failed" and "cut off when the run was killed" in stored[cut][1].error
    assert all(status in ("ok", "failed", "skipped") for status, _ in stored.values())
    ids = [t.trial_id for t in resumed.trials]
    assert len(ids) == len(set(ids)) and cut in ids
    assert engine.store.run(result.run_id)["status"] == "finished"


def test_resume_with_budget_left_reruns_a_cut_off_trial_under_its_id(tmp_path, table):
    engine = SinglePointTechnique(budget="10s", families=["linear"], home=tmp_path, max_trials=3, refit=False)
    result = engine.search(table, label="species")
    cut = _cut_off(engine, result, spent_s=1.0)
    resumed = engine.resume(result.run_id)
    statuses = {t.trial_id: status for status, t in engine.store.trials(result.run_id)}
    assert statuses[cut] == "ok"
    ids = [t.trial_id for t in resumed.trials]
    assert ids.count(cut) == 1 and len(ids) == len(set(ids))


def test_the_run_store_round_trips_typed_trial_records_and_reads_old_ones(tmp_path):
    from lepton_ai.search.trial import TrialResult

    store = RunStore(tmp_path / "runs.sqlite")
    store.create_run("r1", {"families": ["gbdt"]}, None)
    trial = TrialResult(trial_id="t001", index=1, family="gbdt", params={"n_estimators": 10}, dev_metric=0.9,
                        rung=1, rung_fraction=0.5, origin="promoted", config_id="s0", dev_loss=0.3, fit_length=8,
                        refit_error="budget: 0.1s left for the refit", extra={"note": "kept"})
    store.put_trial("r1", trial, status="running")
    assert store.trials("r1") == [("running", trial)]
    # A row written by an earlier version: the fields inside "extra", no index.
    old = {"trial_id": "t002", "family": "gbdt", "params": {"n_estimators": 10}, "status": "ok", "dev_metric": 0.8,
           "extra": {"fidelity": 1.0, "origin": "start", "rung": 0, "rung_fraction": 1.0, "config_id": "s1",
                     "n_trees": 7, "dev_loss": 0.4}}
    with sqlite3.connect(tmp_path / "runs.sqlite") as db:
        db.execute("INSERT INTO trials (run_id, trial_id, status, family, record, updated) VALUES (?,?,?,?,?,?)",
                   ("r1", "t002", "ok", "gbdt", json.dumps(old), time.time()))
    (_, first), (_, second) = store.trials("r1")
    assert first == trial
    assert (second.index, second.config_id, second.fit_length, second.dev_loss, second.extra) == (2, "s1", 7, 0.4, {})


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_twenty_random_kills_of_lepton_train_each_resumed_lose_and_repeat_nothing(tmp_path):
    """The soak test: ``lepton train`` killed with SIGKILL at 20 seeded random moments (start-up, search,
    refit, saving), each run then resumed with ``lepton runs resume``."""
    import random
    import uuid
    from pathlib import Path

    from conftest import make_table, survivors
    from lepton_ai import load_model

    lepton = str(Path(sys.executable).parent / "lepton")
    data = tmp_path / "train.csv"
    make_table(600, seed=5).to_csv(data, index=False)
    rng = random.Random(20261202)
    outcomes: dict[str, int] = {}
    for round_ in range(20):
        home, out = tmp_path / f"home{round_}", tmp_path / f"model{round_}"
        marker = uuid.uuid4().hex
        env = {**os.environ, "LEPTON_HOME": str(home), "LEPTON_SOAK_MARKER": marker}
        train = subprocess.Popen([lepton, "train", str(data), "--label", "species", "--budget", "12s",
                                  "--families", "linear,gbdt,mlp", "--max-trials", "8", "--out", str(out), "--quiet"],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 13.5))  # start-up, search, refit, saving, or after the exit
        if train.poll() is not None:
            outcomes["finished before the kill"] = outcomes.get("finished before the kill", 0) + 1
        train.send_signal(signal.SIGKILL)
        train.wait()
        assert survivors(marker) == [], f"round {round_}: processes left running after kill -9"
        if not (home / "runs.sqlite").exists() or not RunStore(home / "runs.sqlite").runs():
            outcomes["killed before the run was stored"] = outcomes.get("killed before the run was stored", 0) + 1
            continue
        store = RunStore(home / "runs.sqlite")
        run_id = store.runs()[0]["run_id"]
        before = {t.trial_id: t.to_json() for t in store.finished_trials(run_id)}
        resumed = subprocess.run([lepton, "runs", "resume", run_id, "--out", str(out), "--quiet"], env=env,
                                 capture_output=True, text=True, timeout=180)
        assert survivors(marker, 0.0) == [], f"round {round_}: resume left processes running"
        if resumed.returncode == 2 and "cannot be resumed" in resumed.stderr:  # killed while preparing
            outcomes["killed before the features were cached"] = outcomes.get(
                "killed before the features were cached", 0) + 1
            continue
        assert resumed.returncode == 0, f"round {round_}: {resumed.stderr}"
        trials = store.trials(run_id)
        ids = [t.trial_id for _, t in trials]
        assert len(ids) == len(set(ids)), f"round {round_}: a trial was duplicated"
        assert {s for s, _ in trials} <= {"ok", "failed", "skipped"}, f"round {round_}: a trial left unfinished"
        assert set(before) <= set(ids), f"round {round_}: a finished trial was lost"
        for _, trial in trials:
            if trial.trial_id in before:
                after = trial.to_json()
                assert {k: after[k] for k in ("status", "params", "dev_metric")} == \
                    {k: before[trial.trial_id][k] for k in ("status", "params", "dev_metric")}
        assert store.run(run_id)["status"] == "finished"
        model = load_model(out)  # checks every hash: a kill during a save leaves no corrupt model
        assert len(model.predict(make_table(20, seed=6))) == 20
        outcomes["resumed to the end"] = outcomes.get("resumed to the end", 0) + 1
    print(f"20 kills: {outcomes}")
    assert outcomes.get("resumed to the end", 0) >= 10


def test_a_run_of_a_killed_node_is_resumed_on_another_through_the_shared_store_and_cache(tmp_path):
    """Node A (its own home) runs a search into a shared store and Redis cache and is killed; node B
    (another home: no features, no models of A on its disk) resumes it from what A shared."""
    from lepton_ai.blobs import SharedCache
    from redis_server import redis_server

    with redis_server() as cache_url:
        store = tmp_path / "shared" / "runs.sqlite"
        script = _script(tmp_path / "node-a", max_trials=10).replace(
            "max_trials=10)", f"max_trials=10, store={str(store)!r}, cache={cache_url!r})")
        node_a = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if store.exists() and sum(s == "ok" for *_, s in _trial_rows(store.parent)) >= 3:
                break
        node_a.send_signal(signal.SIGKILL)
        node_a.wait()
        (run,) = RunStore(store).runs()
        finished_on_a = {t.trial_id for t in RunStore(store).finished_trials(run["run_id"]) if t.ok}
        assert len(finished_on_a) >= 3

        node_b = SinglePointTechnique(workers=1, home=tmp_path / "node-b", store=store, cache=cache_url)
        assert not (tmp_path / "node-b").exists()
        result = node_b.resume(run["run_id"])
        ids = [t.trial_id for t in result.trials]
        assert len(ids) == len(set(ids)) and finished_on_a <= set(ids)
        assert len([t for t in result.trials if t.family != "ensemble"]) == 10
        assert {s for s, _ in RunStore(store).trials(run["run_id"])} <= {"ok", "failed", "skipped"}
        for trial_id in finished_on_a:  # A's models were fetched, not trained again
            assert (tmp_path / "node-b" / "runs" / run["run_id"] / "trials" / trial_id).is_dir()
            assert result.models[trial_id] is not None
        assert SharedCache(cache_url).has(f"model:{run['run_id']}:{sorted(finished_on_a)[0]}")


def test_resume_reports_the_budget_actually_left(tmp_path, table):
    from lepton_ai.engine.callbacks import Callback

    class Budget(Callback):
        seen: list[float] = []

        def on_search_start(self, n_candidates, budget_s):
            self.seen.append(budget_s)

    engine = SinglePointTechnique(budget="20s", families=["linear"], home=tmp_path, max_trials=2, refit=False)
    result = engine.search(table, label="species")
    engine.store.update_run(result.run_id, status="interrupted", spent_s=12.0)
    engine.resume(result.run_id, callbacks=[Budget()])
    assert Budget.seen and Budget.seen[0] <= result.budget_s - 12.0 + 0.5
