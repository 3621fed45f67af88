"""Trials on a real Dask cluster (a scheduler and two workers on loopback) through the same engine.

The fast tests cover the pieces (shape of a cluster, versions, files as bytes, an unreachable
scheduler); the slow ones start the cluster once for the module (``dask_cluster``) and run searches,
kill a worker under a trial, and stop trials on their worker.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from dask_cluster import free_port, start_cluster, wait_for_workers, worker_pids
from dask_families import HogFamily, SlowFamily

from lepton_ai import LeptonModel, SinglePointTechnique, load_model
from lepton_ai.data.load import build_dataset
from lepton_ai.data.split import split_dataset
from lepton_ai.engine.dask_executor import ClusterShape, DaskExecutor, _portable, cluster_shape, version_mismatches
from lepton_ai.engine.dask_task import pack_files, unpack_features, unpack_files
from lepton_ai.engine.worker import TrialSpec
from lepton_ai.errors import ConfigError, TrialError
from lepton_ai.features.cache import FeatureCache
from lepton_ai.models.registry import FAMILIES, family_source
from lepton_ai.search.frontier import metric_noise
from lepton_ai.search.leaderboard import leaderboard_frame
from lepton_ai.search.trial import TrialResult


# ---- fast: the pieces ------------------------------------------------------------------------
def test_workers_that_declare_cores_run_that_many_trials_each():
    workers = {"a": {"nthreads": 4, "resources": {"cores": 4, "memory": 8e9}},
               "b": {"nthreads": 2, "resources": {"cores": 2, "memory": 2e9}}}
    shape = cluster_shape(workers, threads_per_trial=2)
    assert shape == ClusterShape(slots=3, max_cores=4, memory_per_core=1e9)
    assert shape.request(2) == (2, {"cores": 2.0, "memory": 2e9})
    # A trial given every core of this node asks for no more than the largest worker has.
    assert shape.request(16) == (4, {"cores": 4.0, "memory": 4e9})


def test_workers_without_resources_run_one_trial_per_thread_and_get_no_request():
    shape = cluster_shape({"a": {"nthreads": 2, "resources": {}}, "b": {"nthreads": 1}}, threads_per_trial=1)
    assert shape.slots == 3 and shape.request(1) == (1, None)
    assert shape.request(8) == (2, None)  # no more threads than the largest worker has
    assert cluster_shape({}, 1).slots == 1  # no worker yet: one trial waits for one


def test_version_mismatches_name_each_worker_and_what_differs():
    mine = {"lepton_ai": "0.1.0", "dask": "2026.8.0", "distributed": "2026.8.0", "python": "3.11"}
    theirs = {"tcp://w1:1": dict(mine), "tcp://w2:2": {**mine, "lepton_ai": "0.0.9"},
              "tcp://w3:3": {**mine, "dask": "missing (ModuleNotFoundError)"}, "tcp://w4:4": RuntimeError("boom")}
    problems = version_mismatches(mine, theirs)
    assert problems == ["tcp://w2:2: lepton_ai 0.0.9 (here 0.1.0)",
                        "tcp://w3:3: dask missing (ModuleNotFoundError) (here 2026.8.0)",
                        "tcp://w4:4: could not report its versions (RuntimeError: boom)"]


def test_files_travel_as_bytes_and_cannot_leave_the_run_directory(tmp_path):
    source = tmp_path / "src"
    (source / "trials" / "t001").mkdir(parents=True)
    (source / "trials" / "t001" / "model.txt").write_bytes(b"trees")
    (source / "dev_outputs").mkdir()
    (source / "dev_outputs" / "t001.npy").write_bytes(b"\x93NUMPY")
    files = pack_files(source)
    assert files == {"dev_outputs/t001.npy": b"\x93NUMPY", "trials/t001/model.txt": b"trees"}
    unpack_files(files, tmp_path / "dst")
    assert pack_files(tmp_path / "dst") == files
    for bad in ("../outside", "/etc/passwd", ""):
        with pytest.raises(TrialError, match="relative path inside the run directory"):
            unpack_files({bad: b"x"}, tmp_path / "dst")
    assert not (tmp_path / "outside").exists()


def test_features_are_unpacked_once_per_worker_under_their_hash(tmp_path):
    files = {"meta.json": b"{}", "train_y.npy": b"y"}
    first = unpack_features(tmp_path, "abc123", files)
    assert pack_files(first) == files
    assert unpack_features(tmp_path, "abc123", {"meta.json": b"{}"}) == first  # there already: not unpacked again
    assert pack_files(first) == files
    assert [p.name for p in tmp_path.iterdir()] == ["abc123"]  # no temporary directory left behind


def test_a_spec_reaches_the_worker_without_this_file_system(tmp_path):
    spec = TrialSpec(trial_id="t004", index=4, family="linear", params={},
                     data_dir=str(tmp_path / "cache" / "f00d"),
                     output_dir=str(tmp_path / "run" / "trials" / "t004"), deadline=0.0,
                     epoch_log=str(tmp_path / "run" / "epochs" / "t004.jsonl"))
    portable = _portable(spec, tmp_path / "run")
    assert (portable["data_dir"], portable["output_dir"], portable["epoch_log"]) == \
        ("f00d", "trials/t004", "epochs/t004.jsonl")


def test_an_unreachable_scheduler_is_a_clear_error_within_seconds(tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ConfigError, match=f"cluster='{address}': no Dask scheduler answered there within 1s"):
        DaskExecutor(address, run_dir=tmp_path, connect_timeout_s=1.0)
    assert time.monotonic() - started < 6


def test_a_cluster_is_a_scheduler_address_and_belongs_to_the_engine():
    with pytest.raises(ConfigError, match="'tcp://host:port'. Got 'http://x:8786'"):
        SinglePointTechnique(cluster="http://x:8786")
    SinglePointTechnique(cluster="tcp://127.0.0.1:8786")  # nothing is contacted before a search
    model = LeptonModel(engine=SinglePointTechnique(), cluster="tcp://127.0.0.1:8786")
    with pytest.raises(ConfigError, match="cluster= is the engine's"):
        model.train(None)


def test_the_leaderboard_says_where_each_trial_ran():
    trials = [TrialResult("t000", 0, "linear", {}, dev_metric=0.9, worker="tcp://10.0.0.2:4000"),
              TrialResult("t001", 1, "linear", {}, dev_metric=0.8)]
    board = leaderboard_frame(trials)
    assert board["worker"].iloc[0] == "tcp://10.0.0.2:4000" and pd.isna(board["worker"].iloc[1])  # this node


# ---- slow: a real cluster on loopback ---------------------------------------------------------
@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two workers (one thread, ``cores=1``, 2 GB each), their trial servers warmed up."""
    from distributed import Client

    from lepton_ai.engine.dask_task import warm_worker

    running = start_cluster(tmp_path_factory.mktemp("dask"), n_workers=2)
    try:
        with Client(running.address, timeout=30, set_as_default=False) as client:
            give_up = time.monotonic() + 120
            while not all(client.run(warm_worker, []).values()) and time.monotonic() < give_up:
                time.sleep(0.2)
        yield running
    finally:
        running.stop()


@pytest.fixture
def slow_family(monkeypatch, tmp_path):
    """The ``slow`` family registered here, its trials' pids written to a folder of this test."""
    markers = tmp_path / "pids"
    markers.mkdir()
    monkeypatch.setitem(FAMILIES, SlowFamily.name, SlowFamily)
    monkeypatch.setattr(SlowFamily, "config", {"sleep_s": 4.0, "marker_dir": str(markers)})
    return markers


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] if Path(f"/proc/{pid}/stat").exists() else ""
    return state not in ("Z", "X", "")  # a zombie waiting for its parent to reap it is dead


def _wait_for(predicate, timeout_s: float) -> bool:
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _pids(markers: Path) -> list[int]:
    return [int(p.stem) for p in markers.glob("*.pid")]


@pytest.mark.slow
def test_a_search_on_the_cluster_records_every_trial_with_its_worker(cluster, table, tmp_path):
    workers = set(worker_pids(cluster.address))
    engine = SinglePointTechnique(cluster=cluster.address, families="linear,gbdt", budget="60s", max_trials=6,
                                  home=tmp_path / "home")
    result = engine.search(table, label="species")
    assert [t.status for t in result.trials] == ["ok"] * 6
    assert {t.worker for t in result.trials} <= workers and all(t.worker for t in result.trials)
    # Models came back as bytes: the catalog loads and predicts with them here.
    best = max(result.trials, key=lambda t: t.dev_metric or 0.0)
    assert result.models[best.trial_id] is not None
    assert (engine.home / "runs" / result.run_id / "dev_outputs" / f"{best.trial_id}.npy").is_file()
    stored = {t.trial_id: t.worker for _, t in engine.store.trials(result.run_id)}
    assert stored == {t.trial_id: t.worker for t in result.trials}
    assert set(leaderboard_frame(result.trials)["worker"]) <= workers


@pytest.mark.slow
def test_the_metric_on_the_cluster_matches_a_local_run(cluster, table, tmp_path):
    def best(cluster_address):
        engine = SinglePointTechnique(cluster=cluster_address, families="linear", budget="60s", max_trials=3,
                                      refit=False, home=tmp_path / "home")
        result = engine.search(table, label="species")
        return max(t.dev_metric for t in result.trials if t.ok), result

    on_cluster, result = best(cluster.address)
    local, _ = best(None)
    assert all(t.worker for t in result.trials)
    assert abs(on_cluster - local) <= metric_noise("classification", local, int(result.extra["n_dev"]))


@pytest.mark.slow
def test_a_stopped_trial_is_really_stopped_on_its_worker(cluster, table, tmp_path, slow_family):
    SlowFamily.config = {**SlowFamily.config, "sleep_s": 120.0}
    executor, spec = _executor_and_spec(cluster, table, tmp_path)
    try:
        executor.start(spec, kill_at=time.time() + 100)
        assert _wait_for(lambda: _pids(slow_family), 30), "the trial never started on a worker"
        [pid] = _pids(slow_family)
        [outcome] = executor.stop_all("stopped by the test")
        assert outcome.trial.status == "failed" and outcome.trial.error == "stopped by the test"
        assert _wait_for(lambda: not _alive(pid), 5), f"trial process {pid} still runs on its worker"
    finally:
        executor.close()


@pytest.mark.slow
def test_a_worker_without_the_features_is_sent_them_and_the_trial_runs(cluster, table, tmp_path, slow_family):
    from distributed import Client

    SlowFamily.config = {**SlowFamily.config, "sleep_s": 0.0}
    executor, spec = _executor_and_spec(cluster, table, tmp_path)
    key = Path(spec.data_dir).name

    def features_on_workers(remove: bool) -> dict[str, bool]:
        def look(dask_worker, key=key, remove=remove):
            import shutil
            from pathlib import Path

            entry = Path(dask_worker.local_directory) / "lepton" / "features" / key
            if remove:
                shutil.rmtree(entry)
            return (entry / "meta.json").is_file()

        with Client(cluster.address, timeout=10, set_as_default=False) as client:
            return client.run(look)

    try:
        first = _run_one(executor, spec)
        assert first.trial.status == "ok", first.trial
        assert set(features_on_workers(remove=True).values()) == {False}  # as on workers that joined later
        second = _run_one(executor, dataclasses.replace(spec, trial_id="t001",
                                                        output_dir=str(Path(spec.output_dir).with_name("t001"))))
        assert second.trial.status == "ok", second.trial
        assert True in features_on_workers(remove=False).values()
        assert (tmp_path / "run" / "trials" / "t001").is_dir()
    finally:
        executor.close()


def _run_one(executor: DaskExecutor, spec: TrialSpec):
    executor.start(spec, kill_at=time.time() + 60)
    outcomes: list = []
    assert _wait_for(lambda: outcomes.extend(executor.poll(0.2)) or outcomes, 60)
    return outcomes[0]


@pytest.mark.slow
def test_a_trial_past_its_memory_share_fails_alone_and_its_worker_lives(cluster, table, tmp_path, monkeypatch):
    monkeypatch.setitem(FAMILIES, HogFamily.name, HogFamily)
    before = worker_pids(cluster.address)
    engine = SinglePointTechnique(cluster=cluster.address, families="hog,linear", budget="60s", max_trials=3,
                                  refit=False, home=tmp_path / "home")
    result = engine.search(table, label="species")
    [hog] = [t for t in result.trials if t.family == "hog"]
    assert hog.status == "failed" and "exceeded its memory share" in hog.error and hog.worker in before
    assert all(t.ok for t in result.trials if t.family == "linear")
    assert worker_pids(cluster.address) == before  # no worker died or restarted


@pytest.mark.slow
def test_a_trial_past_its_deadline_is_killed_on_its_worker(cluster, table, tmp_path, slow_family):
    SlowFamily.config = {**SlowFamily.config, "sleep_s": 120.0}
    executor, spec = _executor_and_spec(cluster, table, tmp_path)
    try:
        executor.start(spec, kill_at=time.time() + 4)
        outcomes = []
        assert _wait_for(lambda: outcomes.extend(executor.poll(0.2)) or outcomes, 30)
        assert "timed out" in outcomes[0].trial.error and outcomes[0].trial.worker
        pids = _pids(slow_family)
        assert pids and _wait_for(lambda: not any(_alive(pid) for pid in pids), 5), \
            [(pid, Path(f"/proc/{pid}/stat").read_text() if Path(f"/proc/{pid}/stat").exists() else "") for pid in pids]
    finally:
        executor.close()


@pytest.mark.slow
def test_a_worker_killed_mid_trial_is_retried_once_elsewhere(cluster, table, tmp_path, slow_family):
    killed = _kill_workers_under(slow_family, cluster.address, times=1)
    engine = SinglePointTechnique(cluster=cluster.address, families="slow,linear", budget="60s", max_trials=3,
                                  refit=False, home=tmp_path / "home")
    try:
        # A dev set of its own: ranked on folds, the slow family would sleep once per fold.
        result = engine.search(table.iloc[:240], table.iloc[240:], label="species")
        killed.join()
        assert killed.workers, "the slow trial never started"
        [slow] = [t for t in result.trials if t.family == "slow"]
        assert slow.ok, slow.error
        assert slow.worker != killed.workers[0]
        assert f"its worker {killed.workers[0]} died while running it" in slow.extra["retried_after"]
        assert len(_pids(slow_family)) == 2  # it ran twice: once on each worker
        assert not _alive(killed.trial_pids[0])  # the first run died with its worker
        assert all(t.ok for t in result.trials)  # the search went on
    finally:
        wait_for_workers(cluster.address, 2, 60)  # the nanny restarts the killed worker for the next tests


@pytest.mark.slow
def test_a_trial_whose_workers_die_twice_fails_with_that_cause(cluster, table, tmp_path, slow_family):
    killed = _kill_workers_under(slow_family, cluster.address, times=2)
    engine = SinglePointTechnique(cluster=cluster.address, families="slow,linear", budget="60s", max_trials=3,
                                  refit=False, home=tmp_path / "home")
    try:
        result = engine.search(table, label="species")
        killed.join()
        [slow] = [t for t in result.trials if t.family == "slow"]
        assert len(killed.workers) == 2, f"the slow trial did not start twice: {slow}"
        assert slow.status == "failed"
        died = ", ".join(killed.workers)
        assert slow.error == f"its worker died while running it 2 times ({died}); not started again"
        assert len(_pids(slow_family)) == 2  # not a third time
        assert any(t.ok for t in result.trials if t.family == "linear")  # the search went on
    finally:
        wait_for_workers(cluster.address, 2, 60)


class _WorkerKiller(threading.Thread):
    """Kills (SIGKILL) the worker under each new trial process written to ``markers``, ``times`` times."""

    def __init__(self, markers: Path, address: str, times: int) -> None:
        super().__init__(daemon=True)
        self.markers, self.address, self.times = markers, address, times
        self.workers: list[str] = []
        self.trial_pids: list[int] = []

    def run(self) -> None:
        while len(self.trial_pids) < self.times:
            if not _wait_for(lambda: len(_pids(self.markers)) > len(self.trial_pids), 60):
                return
            trial = next(pid for pid in _pids(self.markers) if pid not in self.trial_pids)
            worker = _parent(_parent(trial))  # trial -> the worker's fork server -> the worker
            self.workers.append(self._address_of(worker))
            self.trial_pids.append(trial)
            os.kill(worker, signal.SIGKILL)

    def _address_of(self, pid: int) -> str:
        """The address of worker process ``pid`` (one the nanny just restarted may not have joined yet)."""
        give_up = time.monotonic() + 30
        while True:
            addresses = {p: a for a, p in worker_pids(self.address).items()}
            if pid in addresses or time.monotonic() > give_up:
                return addresses[pid]
            time.sleep(0.1)


def _kill_workers_under(markers: Path, address: str, times: int) -> _WorkerKiller:
    killer = _WorkerKiller(markers, address, times)
    killer.start()
    return killer


@pytest.mark.slow
def test_workers_on_another_lepton_version_are_a_clear_error(tmp_path, table):
    fake = tmp_path / "other" / "lepton_ai"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('__version__ = "0.0.1-other"\n')
    other = start_cluster(tmp_path, n_workers=1, pythonpath=str(fake.parent))
    try:
        with pytest.raises(ConfigError, match=r"lepton_ai 0\.0\.1-other \(here .+\)"):
            DaskExecutor(other.address, run_dir=tmp_path / "run")
    finally:
        other.stop()


@pytest.mark.slow
def test_a_scheduler_that_goes_away_mid_search_ends_it_with_a_clear_error(tmp_path, table, slow_family):
    SlowFamily.config = {**SlowFamily.config, "sleep_s": 1.0}
    own = start_cluster(tmp_path, n_workers=1)
    engine = SinglePointTechnique(cluster=own.address, families="slow", budget="120s", refit=False,
                                  home=tmp_path / "home")

    def kill_the_scheduler_after_two_trials():
        if _wait_for(lambda: len(_pids(slow_family)) >= 2, 90):
            os.killpg(own.processes[0].pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_the_scheduler_after_two_trials, daemon=True)
    killer.start()
    try:
        with pytest.raises(ConfigError, match=f"cluster='{own.address}': lost the connection to the Dask scheduler"):
            engine.search(table, label="species")
        [run] = engine.store.runs()
        assert run["status"] == "interrupted"  # kept for `lepton runs resume`
    finally:
        killer.join()
        own.stop()


@pytest.mark.slow
def test_a_search_with_an_unreachable_scheduler_fails_within_seconds(table, tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ConfigError, match=address):
        SinglePointTechnique(cluster=address, families="linear", home=tmp_path / "home").search(table, label="species")
    assert time.monotonic() - started < 15


@pytest.mark.slow
def test_lepton_train_runs_its_trials_on_the_cluster(cluster, table_csv, tmp_path):
    from typer.testing import CliRunner

    from lepton_ai.cli.main import app

    out = tmp_path / "model"
    result = CliRunner().invoke(app, ["train", table_csv, "--label", "species", "--families", "linear",
                                      "--budget", "60s", "--max-trials", "2", "--cluster", cluster.address,
                                      "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    model = load_model(out)
    assert model.chosen.worker in worker_pids(cluster.address)


def _executor_and_spec(cluster, table, tmp_path) -> tuple[DaskExecutor, TrialSpec]:
    """A DaskExecutor on the cluster and the spec of one ``slow`` trial on prepared features."""
    data = build_dataset(table, "species")
    train, dev = split_dataset(data, (0.8, 0.2), 0)
    prepared = FeatureCache(tmp_path / "cache").get_or_prepare(train, dev)
    run_dir = tmp_path / "run"
    spec = TrialSpec(trial_id="t000", index=0, family="slow", params=dict(SlowFamily.config),
                     data_dir=str(prepared.directory),
                     output_dir=str(run_dir / "trials" / "t000"), deadline=time.time() + 100,
                     family_source=family_source("slow"))
    return DaskExecutor(cluster.address, run_dir=run_dir), spec


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].split()[1])
