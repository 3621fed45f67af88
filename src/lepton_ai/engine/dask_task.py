"""What a Dask worker runs for one trial: features in by content hash, an isolated trial, files out as bytes.

:class:`~lepton_ai.engine.dask_executor.DaskExecutor` submits :func:`run_on_worker` as the Dask task
of each trial. The task never runs the trial in the worker's own process, where a crash, a hang or
an out-of-memory fit would take the worker and every other task on it along: it hands the trial to
a :class:`~lepton_ai.engine.executor.LocalExecutor` of the worker process, whose fork server (one per
worker, started on first use) forks a fresh child per trial, kills it at ``kill_at`` or above its
memory share, and explains a death in the record. So the trial fails alone, the worker lives on.

Workers share no file system with the search. The prepared features arrive as the files of their
feature-cache entry (``{name: bytes}``, sent by :func:`stage_features` once per worker) and are
unpacked into the worker's local directory under their content hash, where every later trial (of
this search or the next on the same data) finds them; a worker that lacks them (it joined or
restarted later) answers so, and is sent them before the trial is submitted again. They are not
a Dask dependency of the trial's task: Dask keeps one replica of such data, so a task placed on
another worker would fetch the whole feature set again, and a worker that dies would lose it. Each trial writes
under a scratch copy of the run directory's layout (``trials/<id>/`` for the model,
``dev_outputs/<id>.npy`` for ensembles, ``epochs/<id>.jsonl``, ``workers/<id>.log``), returned as
bytes under those relative paths and written by the executor into the search's run directory.

Dask cannot stop a running task, so the task watches a ``distributed.Event`` named after it and
kills its child when the search sets it (a cancel, a timeout, the end of the budget). A worker
that dies under a trial makes the scheduler start it again elsewhere; the task notes each worker
it started on in the scheduler's metadata, so a trial whose workers died twice fails with that
cause instead of going round the cluster.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import TrialError
from .worker import TrialSpec

__all__ = ["run_on_worker", "stage_features", "warm_worker", "pack_files", "unpack_files", "unpack_features",
           "METADATA_ROOT", "MAX_STARTS"]

METADATA_ROOT = "lepton-ai"  # the scheduler metadata this package writes lives under this key
MAX_STARTS = 2  # a trial runs at most this often: once, and once more elsewhere after its worker died
_POLL_S = 0.05       # how often a running trial's child is looked at (its exit, deadline, memory)
_STOP_CHECK_S = 0.25  # how often it asks the scheduler whether the search stopped it (a round trip)


def run_on_worker(spec_json: dict[str, Any], kill_at: float, task: dict[str, Any]) -> dict[str, Any]:
    """Run one trial on this Dask worker; return ``{"record": ..., "files": {path: bytes}}``, or
    ``{"missing_features": hash, "worker": address}`` when this worker has not been given them yet.

    ``spec_json`` is a TrialSpec whose ``data_dir`` is the features' content hash and whose
    ``output_dir`` and ``epoch_log`` are relative to the run directory; ``task`` holds the trial's
    ``session`` and ``trial_key`` (the same for every submission of the trial), the name of its
    ``stop`` event and the ``memory_bytes`` it asked for (or None).
    """
    from distributed import Event, get_client, get_worker

    worker, client = get_worker(), get_client()
    stop = Event(task["stop"], client=client)
    spec = TrialSpec(**spec_json)
    if stop.is_set():  # stopped while it waited in the queue
        return {"record": _failed(spec, "stopped before it started", worker.address), "files": {}}
    root = Path(worker.local_directory) / "lepton"
    data_dir = root / "features" / spec.data_dir
    if not (data_dir / "meta.json").is_file():  # a worker that joined (or restarted) after they were sent
        return {"missing_features": spec.data_dir, "worker": worker.address}
    earlier = _note_start(client, task, worker.address)
    if len(earlier) >= MAX_STARTS:
        reason = (f"its worker died while running it {len(earlier)} times ({', '.join(earlier)}); "
                  "not started again")
        return {"record": _failed(spec, reason, worker.address), "files": {}}
    (root / "scratch").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{spec.trial_id}-", dir=root / "scratch") as tmp:
        scratch = Path(tmp)
        local = _localize(spec, scratch, data_dir)
        memory = task.get("memory_bytes") or _memory_share(worker, spec.n_threads)
        record = _run_isolated(local, kill_at, stop, memory, scratch / "workers")
        record["worker"] = worker.address
        if earlier:
            record.setdefault("extra", {})["retried_after"] = (
                f"its worker {earlier[-1]} died while running it; run again on {worker.address}")
        return {"record": record, "files": pack_files(scratch)}


async def stage_features(key: str, files: Mapping[str, bytes], dask_worker: Any = None) -> str:
    """Unpack the feature files of content hash ``key`` into this worker's feature cache.

    Called through ``Client.run`` (which passes ``dask_worker``); the files are written in a thread
    so the worker's event loop (its heartbeats) goes on meanwhile.
    """
    import asyncio

    await asyncio.to_thread(unpack_features, Path(dask_worker.local_directory) / "lepton" / "features", key, files)
    return key


def warm_worker(modules: list[str]) -> bool:
    """Start this worker's trial fork server (and its import of ``modules``); whether it is ready now.

    Called through ``Client.run``, so on the worker's event-loop thread: the fork server is a child
    of a thread that lives as long as the worker (it dies with the thread that started it).
    """
    from .executor import LocalExecutor
    from .worker_server import shared_worker_server

    server = shared_worker_server()
    server.warm(modules)
    return LocalExecutor(1, work_dir=Path(tempfile.gettempdir()), server=server).wait_ready(modules, 0.0)


def _run_isolated(spec: TrialSpec, kill_at: float, stop: Any, memory_bytes: int | None, work_dir: Path) -> dict:
    """The trial in a child process of this worker's fork server, stopped when ``stop`` is set."""
    from ..models.registry import ensure_family
    from .executor import LocalExecutor
    from .worker_server import shared_worker_server

    ensure_family(spec.family, spec.family_source)  # the executor reads the family's preload list
    executor = LocalExecutor(1, memory_bytes, work_dir=work_dir, server=shared_worker_server())
    executor.start(spec, kill_at)
    next_check = time.monotonic() + _STOP_CHECK_S
    while True:
        done = executor.poll(_POLL_S)
        if done:
            return done[0].trial.to_json()
        if time.monotonic() >= next_check:
            if _is_set(stop):
                return executor.stop_all("stopped by the search")[0].trial.to_json()
            next_check = time.monotonic() + _STOP_CHECK_S


def _is_set(stop: Any) -> bool:
    """Whether the search asked to stop this trial; a scheduler out of reach is no such request
    (the trial then ends at its own deadline)."""
    try:
        return bool(stop.is_set())
    except OSError:  # CommClosedError and the timeouts of a lost scheduler are OSErrors
        return False


def _note_start(client: Any, task: dict[str, Any], address: str) -> list[str]:
    """Add ``address`` to the workers this task started on; return the earlier ones."""
    path = [METADATA_ROOT, task["session"], task["trial_key"]]
    earlier = list(client.get_metadata(path, default=[]))
    client.set_metadata(path, [*earlier, address])
    return earlier


def _localize(spec: TrialSpec, scratch: Path, data_dir: Path) -> TrialSpec:
    """The spec with its paths under this worker's scratch directory and feature cache."""
    epoch_log = str(scratch / spec.epoch_log) if spec.epoch_log else None
    if epoch_log:
        Path(epoch_log).parent.mkdir(parents=True, exist_ok=True)
    return TrialSpec(**{**spec.to_json(), "data_dir": str(data_dir), "output_dir": str(scratch / spec.output_dir),
                        "epoch_log": epoch_log})


def _memory_share(worker: Any, n_threads: int) -> int | None:
    """This trial's share of the worker's memory limit: its cores' part of the worker's cores."""
    limit = worker.memory_manager.memory_limit
    cores = float(worker.state.total_resources.get("cores") or worker.state.nthreads or 1)
    return int(limit * min(1.0, n_threads / cores)) if limit else None


def _failed(spec: TrialSpec, reason: str, address: str) -> dict[str, Any]:
    from .executor import _failed_spec

    return {**_failed_spec(spec, reason, 0.0).to_json(), "worker": address}


# ---- files as bytes ------------------------------------------------------------------------
def unpack_features(root: Path, key: str, files: Mapping[str, bytes]) -> Path:
    """The feature-cache entry ``key`` under ``root``, unpacked from ``files`` unless already there.

    Unpacked into a temporary directory and renamed into place, so two tasks of one worker that
    unpack at once (or a worker killed halfway) never leave half an entry under the key.
    """
    target = root / key
    if (target / "meta.json").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key[:12]}.tmp-", dir=root))
    try:
        unpack_files(files, tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another task unpacked the same key first: the contents are the same
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def pack_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` as ``{relative posix path: bytes}``."""
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*")) if path.is_file()}


def unpack_files(files: Mapping[str, bytes], root: Path) -> list[Path]:
    """Write ``files`` (from :func:`pack_files`) under ``root``; a path that would leave ``root``
    is refused, so a worker's answer cannot write anywhere else on the client."""
    written = []
    for name, data in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise TrialError(f"a file from the cluster has the path {name!r}; expected a relative path "
                              "inside the run directory.")
        path = root.joinpath(*relative.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written
