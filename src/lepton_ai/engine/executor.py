"""Where trials run. One interface, so the search does not care whether trials run here or on a cluster.

:class:`LocalExecutor` (the default) runs every trial in a fresh worker process forked from a
preloaded fork server (:class:`~lepton_ai.engine.worker_server.WorkerServer`), so a trial that raises, segfaults, hangs
past its deadline or grows past its memory share is killed or fails alone, and the search goes on.
A fresh process per trial sidesteps the ``ProcessPoolExecutor`` trap where one dead worker breaks
every pending future.
:class:`InlineExecutor` runs trials in this process, one at a time (no isolation; for debugging).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..models.registry import get_family
from ..search.trial import TrialResult
from .worker import TrialSpec, run_trial
from .worker_server import WorkerServer

__all__ = ["Executor", "LocalExecutor", "InlineExecutor", "Outcome", "LIBRARY_ALLOWANCE"]

# What a worker holds of its own beyond its data, which a memory share does not count: the pages of
# the interpreter and libraries it writes to after the fork (reference counts make them its own),
# LightGBM's and BLAS's thread buffers. A memory limit bounds the data; this is the room above it.
LIBRARY_ALLOWANCE = 256 * 2**20


@dataclass
class Outcome:
    """What came back from one trial: the worker's record, or a failed one saying why the process died."""

    trial_id: str
    trial: TrialResult


class Executor(ABC):
    """Runs trial specs; ``slots`` of them at once."""

    slots: int = 1

    @abstractmethod
    def start(self, spec: TrialSpec, kill_at: float) -> None:
        """Begin ``spec``; a trial still running at ``kill_at`` (time.time()) is stopped."""

    @abstractmethod
    def poll(self, timeout: float) -> list[Outcome]:
        """Wait up to ``timeout`` seconds and return the trials that ended."""

    @abstractmethod
    def running(self) -> list[str]:
        """Ids of the trials in flight."""

    def free_slots(self) -> int:
        return self.slots - len(self.running())

    @abstractmethod
    def stop_all(self, reason: str) -> list[Outcome]:
        """Stop every trial in flight; each becomes a failed outcome with ``reason``."""

    def close(self) -> None:
        return None

    def wait_ready(self, modules: Sequence[str], timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until a trial that needs ``modules`` would start at once."""
        return True


@dataclass
class _Running:
    spec: TrialSpec
    result_path: Path
    started: float
    kill_at: float
    pid: int | None = None
    exit_status: int | None = None


class LocalExecutor(Executor):
    """Trials in worker processes on this node, each with a thread count and a memory share.

    Workers are forked by ``server`` (the engine passes the process's shared one, started as its
    search began); each writes its record to a file in ``work_dir`` and its output to a log file
    beside it.
    """

    def __init__(self, slots: int, memory_share_bytes: int | None = None, work_dir: Path | None = None, *,
                 server: WorkerServer) -> None:
        self.server = server
        self.slots = max(1, slots)
        self.memory_share_bytes = memory_share_bytes
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="lepton-workers-"))
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._running: dict[str, _Running] = {}
        self._keys: dict[str, str] = {}   # request key -> trial id

    def wait_ready(self, modules: Sequence[str], timeout: float) -> bool:
        return self.server.wait_ready(modules, timeout)

    def start(self, spec: TrialSpec, kill_at: float) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        result = self.work_dir / f"{spec.trial_id}.result.json"
        result.unlink(missing_ok=True)
        key = uuid.uuid4().hex
        self._keys[key] = spec.trial_id
        self._running[spec.trial_id] = _Running(spec, result, time.time(), kill_at)
        needs = list(get_family(spec.family).preload)
        self.server.submit(key, {"needs": needs, "spec": spec.to_json(), "result": str(result),
                                      "log": str(self.work_dir / f"{spec.trial_id}.log")}, self._events)

    def running(self) -> list[str]:
        return list(self._running)

    def poll(self, timeout: float) -> list[Outcome]:
        if not self._running:
            return []
        self._drain_events(timeout)
        done: list[Outcome] = []
        now = time.time()
        for trial_id, run in list(self._running.items()):
            if run.exit_status is not None:
                done.append(self._collect(trial_id))
            elif now >= run.kill_at:
                done.append(self._kill(trial_id, f"timed out: still running {now - run.started:.1f}s after it "
                                                 "started, past its deadline; killed"))
            elif (share := run.spec.memory_bytes or self.memory_share_bytes) and run.pid and \
                    _rss_bytes(run.pid) > share + LIBRARY_ALLOWANCE and \
                    (own := _private_bytes(run.pid)) > share + LIBRARY_ALLOWANCE:
                done.append(self._kill(trial_id, f"exceeded its memory share ({own / 2**20:.0f} MiB of its own > "
                                                 f"{share / 2**20:.0f} MiB and {LIBRARY_ALLOWANCE // 2**20} MiB for "
                                                 "the interpreter and libraries); killed"))
        code = self.server.exit_code()
        if code is not None and self._running:
            for trial_id in list(self._running):
                done.append(self._kill(trial_id, f"the worker server exited with code {code}"))
        return done

    def stop_all(self, reason: str) -> list[Outcome]:
        return [self._kill(trial_id, reason) for trial_id in list(self._running)]

    def close(self) -> None:
        self.stop_all("stopped: the search ended")

    def _drain_events(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self._events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            run = self._running.get(self._keys.get(event["key"], ""))
            if run is not None:
                if event["event"] == "started":
                    run.pid = int(event["pid"])
                elif event["event"] == "exited":
                    run.exit_status = int(event["status"])
            if self._events.empty() and any(r.exit_status is not None for r in self._running.values()):
                return

    def _collect(self, trial_id: str) -> Outcome:
        run = self._running.pop(trial_id)
        if run.result_path.is_file():
            trial = TrialResult.from_json(json.loads(run.result_path.read_text()))
            run.result_path.unlink(missing_ok=True)
            return Outcome(trial_id, trial)
        return Outcome(trial_id, _failed(run, _death_reason(run.exit_status)))

    def _kill(self, trial_id: str, reason: str) -> Outcome:
        run = self._running.pop(trial_id)
        if run.pid is not None:
            with contextlib.suppress(ProcessLookupError):  # already gone: nothing left to kill
                os.kill(run.pid, signal.SIGKILL)
        else:  # not forked yet, or its start not seen yet: the server that runs it kills it
            self.server.cancel(next(k for k, t in self._keys.items() if t == trial_id))
        return Outcome(trial_id, _failed(run, reason))


class InlineExecutor(Executor):
    """Trials in this process, one at a time: no isolation, no parallelism; for debugging."""

    slots = 1

    def __init__(self) -> None:
        self._pending: list[TrialSpec] = []

    def start(self, spec: TrialSpec, kill_at: float) -> None:
        self._pending.append(spec)

    def running(self) -> list[str]:
        return [s.trial_id for s in self._pending]

    def poll(self, timeout: float) -> list[Outcome]:
        # Through JSON, as from a worker process: the same record either way.
        done = [Outcome(s.trial_id, TrialResult.from_json(run_trial(s.to_json()))) for s in self._pending]
        self._pending.clear()
        return done

    def stop_all(self, reason: str) -> list[Outcome]:
        done = [Outcome(s.trial_id, _failed_spec(s, reason, 0.0)) for s in self._pending]
        self._pending.clear()
        return done


def _failed(run: _Running, reason: str) -> TrialResult:
    return _failed_spec(run.spec, reason, time.time() - run.started)


def _failed_spec(spec: TrialSpec, reason: str, elapsed: float) -> TrialResult:
    trial = spec.started()
    trial.status, trial.error, trial.fit_s = "failed", reason, elapsed
    return trial


def _death_reason(status: int | None) -> str:
    """Explain a ``waitpid`` status of a worker that left no result."""
    if status is not None and os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return f"the worker process was killed by {name}"
    code = os.WEXITSTATUS(status) if status is not None else None
    return f"the worker process exited with code {code} without a result"


def _private_bytes(pid: int) -> int:
    """Memory only ``pid`` holds (private pages, from /proc/PID/smaps_rollup): what a trial adds to the
    libraries it shares with the worker server it was forked from. Resident memory where the kernel
    has no rollup; 0 without /proc."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            return sum(int(line.split()[1]) * 1024 for line in rollup if line.startswith(("Private_Clean:",
                                                                                          "Private_Dirty:")))
    except OSError:
        return _rss_bytes(pid)


def _rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` from /proc (0 where /proc is not available)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0
