"""Where trials run. One interface, so the search does not care whether trials run here or on a cluster.

:class:`LocalExecutor` (the default) runs every trial in a fresh worker process forked from a
preloaded fork server (:mod:`lepton_ai.engine.zygote`), so a trial that raises, segfaults, hangs
past its deadline or grows past its memory share is killed or fails alone, and the search goes on.
A fresh process per trial sidesteps the ``ProcessPoolExecutor`` trap where one dead worker breaks
every pending future.
:class:`InlineExecutor` runs trials in this process, one at a time (no isolation; for debugging).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..models.registry import get_family
from ..search.trial import TrialResult
from .worker import TrialSpec, run_trial

__all__ = ["Executor", "LocalExecutor", "InlineExecutor", "Outcome"]

# What the worker server imports before it forks any trial (torch comes later, in a second server).
LIGHT_MODULES = ("numpy", "pandas", "sklearn.linear_model", "lightgbm", "lepton_ai.engine.worker",
                 "lepton_ai.models.registry", "lepton_ai.features.cache")


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

    Workers are forked by a zygote (``lepton_ai.engine.zygote``) started on first use (or ahead of
    it, by :meth:`warm`); each writes its record to a file in ``work_dir`` and its output to a log
    file beside it.
    """

    def __init__(self, slots: int, memory_share_bytes: int | None = None, work_dir: Path | None = None) -> None:
        self.slots = max(1, slots)
        self.memory_share_bytes = memory_share_bytes
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="lepton-workers-"))
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._running: dict[str, _Running] = {}
        self._keys: dict[str, str] = {}   # request key -> trial id

    @staticmethod
    def warm(modules: Iterable[str]) -> None:
        """Start the worker server now, and its import of ``modules`` (torch), while the caller
        prepares the data: the first trials then start without waiting for imports."""
        _Zygote.shared().warm(modules)

    def wait_ready(self, modules: Sequence[str], timeout: float) -> bool:
        return _Zygote.shared().wait_ready(modules, timeout)

    def start(self, spec: TrialSpec, kill_at: float) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        result = self.work_dir / f"{spec.trial_id}.result.json"
        result.unlink(missing_ok=True)
        key = uuid.uuid4().hex
        self._keys[key] = spec.trial_id
        self._running[spec.trial_id] = _Running(spec, result, time.time(), kill_at)
        needs = list(get_family(spec.family).preload)
        _Zygote.shared().submit(key, {"needs": needs, "spec": spec.to_json(), "result": str(result),
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
            elif self.memory_share_bytes and run.pid and (rss := _rss_bytes(run.pid)) > self.memory_share_bytes:
                done.append(self._kill(trial_id, f"exceeded its memory share ({rss / 2**20:.0f} MiB > "
                                                 f"{self.memory_share_bytes / 2**20:.0f} MiB); killed"))
        code = _Zygote.shared().exit_code()
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
            _Zygote.shared().cancel(next(k for k, t in self._keys.items() if t == trial_id))
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


class _Zygote:
    """The process-wide fork server: started on first use, shared by every search, ended at exit."""

    _instance: _Zygote | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "lepton_ai.engine.zygote", *LIGHT_MODULES],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.routes: dict[str, queue.Queue[dict[str, Any]]] = {}
        self._write_lock = threading.Lock()
        self._loaded: set[str] = set()   # modules imported by a server that forks trials
        self._warmed: set[str] = set()   # modules asked for by warm()
        self._ready = threading.Condition()
        threading.Thread(target=self._read_events, daemon=True, name="lepton-zygote-events").start()
        atexit.register(self.stop)

    @classmethod
    def shared(cls) -> _Zygote:
        with cls._lock:
            if cls._instance is None or cls._instance.process.poll() is not None:
                cls._instance = cls()
            return cls._instance

    def submit(self, key: str, request: dict[str, Any], events: queue.Queue[dict[str, Any]]) -> None:
        self.routes[key] = events
        self._write({"key": key, **request})

    def warm(self, modules: Iterable[str]) -> None:
        wanted = sorted(set(modules) - self._warmed - set(LIGHT_MODULES))
        if wanted:
            self._warmed.update(wanted)
            self._write({"warm": wanted})

    def wait_ready(self, modules: Iterable[str], timeout: float) -> bool:
        """Whether a server with the light modules and ``modules`` is up, waiting up to ``timeout``."""
        wanted = set(LIGHT_MODULES) | set(modules)
        self.warm(modules)
        with self._ready:
            return self._ready.wait_for(lambda: wanted <= self._loaded or self.process.poll() is not None,
                                        timeout=max(0.0, timeout)) and wanted <= self._loaded

    def cancel(self, key: str) -> None:
        self._write({"cancel": key})

    def _write(self, request: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        with self._write_lock, contextlib.suppress(BrokenPipeError):  # a dead server is seen by poll()
            self.process.stdin.write((json.dumps(request, default=str) + "\n").encode())
            self.process.stdin.flush()

    def exit_code(self) -> int | None:
        return self.process.poll()

    def stop(self) -> None:
        """Close the request pipe: the zygote kills what still runs and exits."""
        if self.process.poll() is None and self.process.stdin is not None:
            with contextlib.suppress(OSError):  # the pipe may already be closed at interpreter exit
                self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def _read_events(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.strip():
                event = json.loads(line)
                if event["event"] == "ready":
                    with self._ready:
                        self._loaded.update(event["modules"])
                        self._ready.notify_all()
                    continue
                route = self.routes.get(event["key"])
                if route is not None:
                    route.put(event)
                if event["event"] == "exited":
                    self.routes.pop(event["key"], None)


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
