"""Trials on a Dask cluster, behind the same :class:`~lepton_ai.engine.executor.Executor` interface.

``SinglePointTechnique(cluster="tcp://host:8786")`` builds a :class:`DaskExecutor`: the search loop,
the scheduler of trials, the run store and the model catalog stay on this machine and do not know
where trials run. Each trial is one Dask task (:func:`lepton_ai.engine.dask_task.run_on_worker`):

* ``priority`` follows the engine's launch order (earlier trials first), ``pure=False``, and the
  ``key`` names the trial;
* ``resources={"cores": n_threads}`` (and ``"memory"``: the trial's share in bytes) when the
  workers declare them (``dask worker ADDR --resources "cores=4 memory=16e9"``), so a worker runs
  no more trials than it has cores; a request is capped to what the largest worker declares;
* ``retries=1``: a task that raises (not the trial: a failing trial is a record) runs once more.
  A worker that dies under a trial makes the scheduler start it elsewhere; the task refuses a third
  start (:data:`~lepton_ai.engine.dask_task.MAX_STARTS`), so the trial fails with that cause.

Features are shipped by content hash: at the first trial of a search the files of its
feature-cache entry are sent to every worker (``Client.run`` of
:func:`~lepton_ai.engine.dask_task.stage_features`), which keeps them on its local disk under the
hash; a worker that joins later is sent them when a trial lands there. Trials answer with their
record (which names the ``worker`` that ran it) and the files they wrote, written here into the run
directory, so the run store and the model catalog see what they see with the local executor.

A trial past ``kill_at`` is killed by its task on the worker ("timed out"); one whose answer does
not come ``_GRACE_S`` later (its worker is gone or unreachable) is stopped from here. Clocks of the
client and the workers are assumed to agree within a second or two (NTP).
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, TrialError
from ..search.trial import TrialResult
from .executor import Executor, Outcome, _failed_spec
from .worker import TrialSpec

__all__ = ["DaskExecutor", "ClusterShape", "cluster_shape", "version_mismatches"]

CONNECT_TIMEOUT_S = 5.0   # an unreachable scheduler is an error after this long
_GRACE_S = 10.0           # past kill_at, how long the answer of a trial's own kill may take to arrive
_STOP_WAIT_S = 3.0        # at close, how long stopped trials get to confirm their child is killed
_REFRESH_S = 1.0          # how often the workers (and so the slots) are looked up again
_MAX_RESUBMITS = 3        # submissions again of a trial whose worker lacked the features
_VERSIONED = ("lepton_ai", "dask", "distributed", "python")


@dataclass(frozen=True)
class ClusterShape:
    """What the workers offer: trials at once, the most cores one worker has, the memory per core."""

    slots: int
    max_cores: int                 # the largest ``cores`` resource of a worker (its thread count if undeclared)
    memory_per_core: float | None  # bytes of the ``memory`` resource per declared core (smallest worker)
    declared: bool = True          # whether the workers declare ``cores``, so tasks can ask for them

    def request(self, n_threads: int) -> tuple[int, dict[str, float] | None]:
        """The threads a trial asking for ``n_threads`` gets, and the resources its task asks for.

        No worker could run a task asking for more than the largest has: it would wait forever.
        """
        n = max(1, min(n_threads, self.max_cores))
        if not self.declared:
            return n, None
        resources: dict[str, float] = {"cores": float(n)}
        if self.memory_per_core:
            resources["memory"] = float(int(self.memory_per_core * n))
        return n, resources


def cluster_shape(workers: Mapping[str, Mapping[str, Any]], threads_per_trial: int) -> ClusterShape:
    """The shape of a cluster from ``scheduler_info()["workers"]``.

    Workers that declare a ``cores`` resource run ``cores // threads_per_trial`` trials each (at
    most their thread count); when none declares it, every worker thread is one trial.
    """
    declared = {a: w for a, w in workers.items() if "cores" in (w.get("resources") or {})}
    if not declared:
        threads = [int(w.get("nthreads", 1)) for w in workers.values()]
        slots = sum(max(1, n // threads_per_trial) for n in threads)
        return ClusterShape(max(1, slots), max(threads, default=1), None, declared=False)
    cores = {a: int(w["resources"]["cores"]) for a, w in declared.items()}
    slots = sum(min(int(w.get("nthreads", 1)), max(1, cores[a] // threads_per_trial)) for a, w in declared.items())
    memory = [float(w["resources"]["memory"]) / max(1, cores[a]) for a, w in declared.items()
              if "memory" in w["resources"]]
    return ClusterShape(max(1, slots), max(cores.values()), min(memory) if memory else None)


def version_mismatches(mine: Mapping[str, str], theirs: Mapping[str, Any]) -> list[str]:
    """One line per worker whose versions of lepton-ai, dask, distributed or Python differ from ``mine``."""
    problems = []
    for address, found in sorted(theirs.items()):
        if not isinstance(found, Mapping):  # the probe itself failed there
            problems.append(f"{address}: could not report its versions ({type(found).__name__}: {found})")
            continue
        differ = [f"{name} {found.get(name, 'missing')} (here {mine[name]})" for name in _VERSIONED
                  if found.get(name) != mine[name]]
        if differ:
            problems.append(f"{address}: " + ", ".join(differ))
    return problems


@dataclass
class _Submitted:
    spec: TrialSpec       # as the cluster runs it (threads capped to the largest worker)
    task: dict[str, Any]  # run_on_worker's ``task`` argument: the same for every submission of the trial
    priority: int
    resources: dict[str, float] | None
    started: float
    kill_at: float
    future: Any = None    # distributed.Future of the latest submission
    resubmits: int = 0    # submissions again to a worker that lacked the features


class DaskExecutor(Executor):
    """Trials as tasks on the Dask scheduler at ``address``; outputs land under ``run_dir``.

    Connecting checks, within ``connect_timeout_s``, that the scheduler answers and has at least one
    worker, and that every worker runs this process's versions of lepton-ai, dask, distributed and
    Python: a mismatch is a :class:`~lepton_ai.errors.ConfigError` naming the workers.
    """

    def __init__(self, address: str, *, run_dir: Path, threads_per_trial: int = 1,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self.address = address
        self.run_dir = Path(run_dir)
        self.threads_per_trial = max(1, threads_per_trial)
        self.session = uuid.uuid4().hex[:12]
        self._running: dict[str, _Submitted] = {}
        self._stopping: list[_Submitted] = []
        self._staged: set[str] = set()   # feature directories sent to the workers
        self._launched = 0   # trials started: earlier ones get a higher Dask priority
        self._sequence = 0   # task submissions: each gets its own key
        self._ended = threading.Event()  # set when a task ends: poll() wakes at once
        self.client = _connect(address, connect_timeout_s)
        try:
            _check_cluster(self.client, address, connect_timeout_s)
            self.shape = self._shape()
        except BaseException:
            self.client.close()
            raise
        self.slots = self.shape.slots
        self._refreshed = time.monotonic()

    # ---- the Executor interface ------------------------------------------------------------
    def start(self, spec: TrialSpec, kill_at: float) -> None:
        if spec.data_dir not in self._staged:
            with self._connected():
                self._stage(spec.data_dir)
            self._staged.add(spec.data_dir)
        n_threads, resources = self.shape.request(spec.n_threads)
        spec = dataclasses.replace(spec, n_threads=n_threads)
        self._launched += 1
        trial_key = f"{spec.trial_id}-{self.session}"
        task = {"session": self.session, "trial_key": trial_key, "stop": f"lepton-stop-{trial_key}",
                "memory_bytes": int(resources["memory"]) if resources and "memory" in resources else None}
        run = _Submitted(spec, task, -self._launched, resources, time.time(), kill_at)
        with self._connected():
            self._submit(run)
        self._running[spec.trial_id] = run

    def running(self) -> list[str]:
        return list(self._running)

    def poll(self, timeout: float) -> list[Outcome]:
        if not self._running:
            return []
        self._ended.wait(timeout)
        self._ended.clear()  # before looking: a task that ends from now on sets it again
        done: list[Outcome] = []
        now = time.time()
        with self._connected():
            for trial_id, run in list(self._running.items()):
                if run.future.done():
                    outcome = self._collect(trial_id)
                    if outcome is not None:
                        done.append(outcome)
                elif now >= run.kill_at + _GRACE_S:
                    done.append(self._stop(trial_id, f"timed out: no answer from the cluster {now - run.started:.1f}s"
                                                     " after it was submitted, past its deadline; stopped"))
            self._refresh()
        return done

    def stop_all(self, reason: str) -> list[Outcome]:
        return [self._stop(trial_id, reason) for trial_id in list(self._running)]

    def wait_ready(self, modules: Sequence[str], timeout: float) -> bool:
        """Start every worker's fork server and wait until each has imported ``modules``."""
        from .dask_task import warm_worker

        deadline = time.monotonic() + timeout
        while True:
            with self._connected():
                ready = self.client.run(warm_worker, list(modules), on_error="return")
            if ready and all(value is True for value in ready.values()):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def close(self) -> None:
        """Stop what still runs, give stopped trials a moment to kill their child, and disconnect."""
        self.stop_all("stopped: the search ended")
        try:
            if self.client.status == "running":  # else the scheduler is gone, and what ran there with it
                self._release()
        except OSError as exc:
            warnings.warn(f"cluster={self.address!r}: could not release this search's tasks ({exc}).", stacklevel=2)
        finally:
            self._stopping.clear()
            self.client.close()

    @contextlib.contextmanager
    def _connected(self) -> Iterator[None]:
        """Turn what a lost scheduler raises (after the client gave up reconnecting) into one clear error."""
        try:
            yield
        except (OSError, RuntimeError, KeyError) as exc:
            if self.client.status == "running":
                raise
            raise self._lost(f"{type(exc).__name__}: {exc}") from exc
        if self.client.status in ("closing", "closed", "failed"):
            raise self._lost(f"client {self.client.status}")

    def _lost(self, cause: str) -> ConfigError:
        return ConfigError(f"cluster={self.address!r}: lost the connection to the Dask scheduler ({cause}). The run "
                           "is kept as interrupted: resume it on the cluster once the scheduler is back "
                           "(SinglePointTechnique(cluster=...).resume(run_id)) or here (`lepton runs resume RUN`).")

    # ---- helpers -------------------------------------------------------------------------
    def _submit(self, run: _Submitted) -> None:
        from .dask_task import run_on_worker

        self._sequence += 1
        key = f"lepton-{run.spec.trial_id}-{self.session}-{self._sequence}"
        run.future = self.client.submit(run_on_worker, _portable(run.spec, self.run_dir), run.kill_at, run.task,
                                        key=key, priority=run.priority, resources=run.resources, retries=1,
                                        pure=False)
        run.future.add_done_callback(lambda _: self._ended.set())  # called in a thread of the client

    def _stage(self, data_dir: str, workers: list[str] | None = None) -> None:
        """Send the feature files of ``data_dir`` to ``workers`` (default: all), unpacked on each under
        their content hash (the name of the cache entry)."""
        from .dask_task import pack_files, stage_features

        directory = Path(data_dir)
        files = pack_files(directory)
        if "meta.json" not in files:
            raise ConfigError(f"prepared features at {directory}: no meta.json; the feature cache entry is "
                              "incomplete. Prepare the data again.")
        self.client.run(stage_features, directory.name, files, workers=workers)

    def _collect(self, trial_id: str) -> Outcome | None:
        """The outcome of a trial whose task ended; None when it was submitted again."""
        run = self._running[trial_id]
        status = run.future.status
        if status == "finished":
            answer = run.future.result()
            run.future.release()
            return self._answer(trial_id, run, answer)
        self._running.pop(trial_id)
        if status == "error":
            error = run.future.exception()
            reason = f"the cluster could not run it: {type(error).__name__}: {error}"
        else:
            reason = f"the cluster dropped it (task {run.future.key} {status})"
        run.future.release()
        return Outcome(trial_id, self._failed(run, reason))

    def _answer(self, trial_id: str, run: _Submitted, answer: dict[str, Any]) -> Outcome | None:
        """A task's answer: the record, its files written into the run directory. A worker that lacked
        the features is sent them and the trial submitted again (None)."""
        from .dask_task import unpack_files

        if "missing_features" in answer and run.resubmits < _MAX_RESUBMITS:
            self._stage(run.spec.data_dir, workers=[answer["worker"]])
            run.resubmits += 1
            self._submit(run)
            return None
        self._running.pop(trial_id)
        if "missing_features" in answer:
            return Outcome(trial_id, self._failed(run, f"its workers lacked its features {run.resubmits + 1} "
                                                       f"times (last {answer['worker']})"))
        try:
            unpack_files(answer["files"], self.run_dir)
        except (TrialError, OSError) as exc:  # a bad path, a full disk: this trial's model is not here
            return Outcome(trial_id, self._failed(run, f"its files could not be written here: {exc}"))
        return Outcome(trial_id, TrialResult.from_json(answer["record"]))

    def _stop(self, trial_id: str, reason: str) -> Outcome:
        """Tell the trial's task to kill its child; the trial is failed with ``reason`` now."""
        from distributed import Event

        run = self._running.pop(trial_id)
        try:
            if self.client.status == "running":  # else the scheduler is gone: nothing can be told
                Event(run.task["stop"], client=self.client).set()
        except OSError as exc:  # out of reach for now: the trial ends at its deadline on its worker
            warnings.warn(f"cluster={self.address!r}: could not stop trial {trial_id} ({exc}).", stacklevel=2)
        self._stopping.append(run)
        return Outcome(trial_id, self._failed(run, reason))

    def _release(self) -> None:
        from distributed import Event

        from .dask_task import METADATA_ROOT

        give_up = time.monotonic() + _STOP_WAIT_S  # those still running then end at their own deadline
        while any(not run.future.done() for run in self._stopping) and time.monotonic() < give_up:
            time.sleep(0.05)
        for run in self._stopping:  # an event that is clear and awaited by none is gone from the scheduler
            Event(run.task["stop"], client=self.client).clear()
        self.client.set_metadata([METADATA_ROOT, self.session], None)
        self.client.cancel([run.future for run in self._stopping])

    def _failed(self, run: _Submitted, reason: str) -> TrialResult:
        return _failed_spec(run.spec, reason, time.time() - run.started)

    def _shape(self) -> ClusterShape:
        return cluster_shape(self.client.scheduler_info(n_workers=-1)["workers"], self.threads_per_trial)

    def _refresh(self) -> None:
        """Follow workers that join or leave: the loop launches as many trials as they have slots."""
        if time.monotonic() >= self._refreshed + _REFRESH_S:
            self._refreshed = time.monotonic()
            try:
                self.shape = self._shape()
            except OSError:  # the scheduler is out of reach for now: keep the last shape
                return
            self.slots = self.shape.slots


def _portable(spec: TrialSpec, run_dir: Path) -> dict[str, Any]:
    """The spec as a worker without this file system reads it: the features by their content hash
    (the name of their cache entry), the outputs relative to the run directory."""
    data = spec.to_json()
    data["data_dir"] = Path(spec.data_dir).name
    data["output_dir"] = Path(spec.output_dir).relative_to(run_dir).as_posix()
    if spec.epoch_log:
        data["epoch_log"] = Path(spec.epoch_log).relative_to(run_dir).as_posix()
    return data


def _connect(address: str, timeout_s: float) -> Any:
    from distributed import Client

    try:
        return Client(address, timeout=timeout_s, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"cluster={address!r}: no Dask scheduler answered there within {timeout_s:g}s "
                          f"({type(exc).__name__}: {exc}). Start one (`dask scheduler`, then `dask worker "
                          f"{address}` on each node) or fix the address.") from exc


def _check_cluster(client: Any, address: str, timeout_s: float) -> None:
    """At least one worker, and every worker on this process's versions."""
    try:
        client.wait_for_workers(1, timeout=timeout_s)
    except TimeoutError as exc:
        raise ConfigError(f"cluster={address!r}: the scheduler has no workers (waited {timeout_s:g}s). "
                          f"Start some with `dask worker {address}`.") from exc

    def probe() -> dict[str, str]:  # defined here so it travels by value: it runs where lepton may differ
        import importlib

        found = {"python": "{}.{}".format(*sys.version_info[:2])}
        for name in ("lepton_ai", "dask", "distributed"):
            try:
                found[name] = str(importlib.import_module(name).__version__)
            except Exception as exc:  # reported as the version it has: none
                found[name] = f"missing ({type(exc).__name__})"
        return found

    problems = version_mismatches(probe(), client.run(probe, on_error="return"))
    if problems:
        raise ConfigError(f"cluster={address!r}: every worker needs this process's lepton_ai, dask, distributed "
                          f"and Python versions; these differ: {'; '.join(problems)}. Install the same versions "
                          "on the workers.")
