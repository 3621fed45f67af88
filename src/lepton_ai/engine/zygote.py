"""A clean fork server for trial workers: ``python -m lepton_ai.engine.zygote MODULE...``.

One zygote serves every search of a process. It imports the light libraries (NumPy, pandas,
scikit-learn, LightGBM: about 1 s), starts no threads, and forks one child per trial, so a trial's
process starts warm in milliseconds. Unlike ``multiprocessing``'s fork server it never re-imports
the user's ``__main__`` module, so a script without an ``if __name__ == "__main__"`` guard is not
re-run in every worker.

Torch takes another ~1.8 s to import and warm up. So the zygote forks a second, *heavy* server the
first time a search asks for it: the heavy one imports torch while the light one already forks
linear and tree trials, and trials of families that need torch are handed on to it. Children of
the light server never carry torch's memory.

Protocol (one JSON object per line). The executor writes to stdin:

* ``{"key": unique, "needs": [modules], "spec": ..., "result": path, "log": path}``: run a trial,
  in the heavy server when ``needs`` is not loaded in the light one;
* ``{"warm": [modules]}``: start the heavy server with these modules now (ahead of its trials);
* ``{"cancel": key}``: kill that trial wherever it runs.

The servers answer on stdout ``{"event": "ready", "key": "", "modules": [...]}`` once their imports
are done, ``{"event": "started", "key", "pid"}`` and later ``{"event": "exited", "key", "pid",
"status"}``. A child writes its record to the ``result`` path (through a temporary file and a
rename) and its own output to ``log``. When stdin closes, both servers kill their remaining
children and exit.

Every process here dies with its parent (``_die_with_parent``): a ``lepton train`` killed with
``kill -9`` closes no pipe in time for a server busy importing, and a server that dies leaves
trials running to their deadline, so on Linux each server and each trial asks the kernel for
SIGKILL when its parent goes (``PR_SET_PDEATHSIG``); elsewhere the closed stdin still ends them.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import sys
from typing import Any


def main() -> None:
    """Arguments: the light modules to import before forking any trial."""
    _die_with_parent(os.getppid())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the executor's to handle
    light = tuple(sys.argv[1:])
    _load(light)
    out = sys.stdout
    _send(out, {"event": "ready", "key": "", "modules": list(light)})
    _Server(sys.stdin.fileno(), out, light).serve()
    out.flush()
    os._exit(0)  # nothing to clean up: tearing down pandas, scikit-learn and LightGBM only delays the caller's exit


class _Server:
    """Reads requests from ``fd``, forks trials, reaps them; the light one also runs the heavy one."""

    def __init__(self, fd: int, out: Any, modules: tuple[str, ...]) -> None:
        self.fd, self.out = fd, out
        self.modules = set(modules)
        self.children: dict[int, str] = {}   # pid -> request key
        self.heavy: tuple[int, int] | None = None  # (pid, request pipe) of the heavy server

    def serve(self) -> None:
        buffer = b""
        open_input = True
        while open_input or self.children:
            readable, _, _ = select.select([self.fd] if open_input else [], [], [], 0.01)
            if readable:
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    open_input = False
                    self._close()
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        self._handle(json.loads(line), line + b"\n")
            self._reap()

    def _handle(self, request: dict[str, Any], line: bytes) -> None:
        if "warm" in request:
            if set(request["warm"]) - self.modules:
                self._heavy_pipe(request["warm"])
        elif "cancel" in request:
            for pid, key in self.children.items():
                if key == request["cancel"]:
                    _kill(pid)
                    return
            if self.heavy is not None:  # not one of ours: it may run in the heavy server
                _write(self.heavy[1], line)
        elif set(request.get("needs", ())) - self.modules:
            _write(self._heavy_pipe(request["needs"]), line)
        else:
            pid = _fork_trial(request)
            self.children[pid] = request["key"]
            _send(self.out, {"event": "started", "key": request["key"], "pid": pid})

    def _heavy_pipe(self, modules: list[str]) -> int:
        """The heavy server's request pipe, started on first use (its imports run while we go on)."""
        if self.heavy is None:
            read_end, write_end = os.pipe()
            parent = os.getpid()
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    _die_with_parent(parent)
                    os.close(write_end)
                    devnull = os.open(os.devnull, os.O_RDONLY)
                    os.dup2(devnull, self.fd)  # let go of the light server's input; keep the fd valid
                    os.close(devnull)
                    wanted = (*self.modules, *modules)
                    _load(wanted)
                    _send(self.out, {"event": "ready", "key": "", "modules": sorted(set(wanted))})
                    _Server(read_end, self.out, wanted).serve()
                    code = 0
                finally:
                    os._exit(code)
            os.close(read_end)
            self.heavy = (pid, write_end)
        return self.heavy[1]

    def _reap(self) -> None:
        while self.children or self.heavy is not None:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if self.heavy is not None and pid == self.heavy[0]:
                os.close(self.heavy[1])  # it died: the next request that needs it starts a new one
                self.heavy = None
                continue
            key = self.children.pop(pid, None)
            if key is not None:
                _send(self.out, {"event": "exited", "key": key, "pid": pid, "status": status})

    def _close(self) -> None:
        """Input closed: kill what still runs, the heavy server included (its trials die with it, and
        one still importing torch would otherwise hold the caller's exit for seconds)."""
        for pid in self.children:
            _kill(pid)
        if self.heavy is not None:
            os.close(self.heavy[1])
            _kill(self.heavy[0])
            os.waitpid(self.heavy[0], 0)
            self.heavy = None


def _load(modules: tuple[str, ...] | list[str]) -> None:
    for name in modules:
        importlib.import_module(name)
    if "torch" in modules:
        # Initialise torch's kernels once (~0.9 s) so forked neural trials start warm; one thread,
        # so no OpenMP pool exists at the fork.
        importlib.import_module("lepton_ai.models.neural.torch_train").warm_up()


def _fork_trial(request: dict[str, Any]) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        _die_with_parent(parent)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(0)
        from lepton_ai.engine.worker import run_trial

        record = run_trial(request["spec"])
        tmp = request["result"] + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(record, handle, default=str)
        os.replace(tmp, request["result"])
        code = 0
    finally:
        os._exit(code)


def _die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when ``parent`` exits (Linux); exit now if it already has.

    The parent may die between the fork and this call, so the check after the request closes
    that window: a process whose parent is no longer ``parent`` was orphaned and leaves at once.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) != 0:
            _send(sys.stderr, {"event": "warning", "key": "",
                               "message": f"prctl(PR_SET_PDEATHSIG) failed: errno {ctypes.get_errno()}"})
    if os.getppid() != parent:
        os._exit(1)


def _send(out: Any, message: dict[str, Any]) -> None:
    # One write per line: both servers share this pipe, and a write below PIPE_BUF is atomic.
    os.write(out.fileno(), (json.dumps(message) + "\n").encode())


def _write(fd: int, line: bytes) -> None:
    view = memoryview(line)
    while view:
        view = view[os.write(fd, view):]


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


if __name__ == "__main__":
    main()
