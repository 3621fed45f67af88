"""The worker server: the process that forks every trial's worker, and the one a Python process shares.

:class:`WorkerServer` drives a fork server (:mod:`lepton_ai.engine.zygote`) over a pipe: it asks
for trials, routes each trial's events back to the executor that asked, and knows which modules
(torch) the server has imported. ``LocalExecutor`` is handed the server it uses, and
``SinglePointTechnique`` hands it :func:`shared_worker_server` when its search begins.

The one global (``_SHARED``, reached only through :func:`shared_worker_server`): a server costs
about 1 s of imports to start (NumPy, pandas, scikit-learn, LightGBM) and its torch level 1.8 s
more, so every search of a process uses one server, and a second search (another
``SinglePointTechnique``, another ``LeptonModel.train``, a test) starts without any import. A server
that has died is replaced by the next search that asks. ``atexit`` closes the server's pipe when
the process ends, so the trials it still runs are killed before the interpreter leaves rather than
orphaned.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["WorkerServer", "shared_worker_server", "LIGHT_MODULES"]

# What the worker server imports before it forks any trial (torch comes later, in a second server).
LIGHT_MODULES = ("numpy", "pandas", "sklearn.linear_model", "lightgbm", "lepton_ai.engine.worker",
                 "lepton_ai.models.registry", "lepton_ai.features.cache")


class WorkerServer:
    """A running fork server: started by the constructor (imports begin at once), stopped by :meth:`stop`."""

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

    def alive(self) -> bool:
        return self.process.poll() is None

    def submit(self, key: str, request: dict[str, Any], events: queue.Queue[dict[str, Any]]) -> None:
        self.routes[key] = events
        self._write({"key": key, **request})

    def warm(self, modules: Iterable[str]) -> None:
        """Start importing ``modules`` (torch) in a second server now, while the caller prepares the
        data: the first trials that need them then start without waiting for imports."""
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
        """Close the request pipe: the zygote kills what still runs and exits. One still importing
        its modules is killed after ``_STOP_WAIT_S`` (its trials and heavy server die with it)."""
        if self.process.poll() is None and self.process.stdin is not None:
            with contextlib.suppress(OSError):  # the pipe may already be closed at interpreter exit
                self.process.stdin.close()
            try:
                self.process.wait(timeout=_STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

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


_STOP_WAIT_S = 0.3
_SHARED: WorkerServer | None = None   # the one instance; see the module docstring for why
_SHARED_LOCK = threading.Lock()


def shared_worker_server() -> WorkerServer:
    """The process's worker server, started now if there is none or it has died."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None or not _SHARED.alive():
            _SHARED = WorkerServer()
        return _SHARED
