"""A clean fork server for trial workers: ``python -m lepton_ai.engine.zygote``.

The executor starts one zygote per search. It imports the heavy libraries once, starts no
threads, and forks one child per trial, so a trial's process starts warm in milliseconds. Unlike
``multiprocessing``'s fork server it never re-imports the user's ``__main__`` module, so a script
without an ``if __name__ == "__main__"`` guard is not re-run in every worker.

Protocol (one JSON object per line): the executor writes ``{"key": unique, "spec": ...,
"result": path, "log": path}`` to stdin; the zygote answers ``{"event": "started", "key", "pid"}``
and later ``{"event": "exited", "key", "pid", "status"}`` on stdout. One zygote serves every
search of a process. A child writes its record to the
``result`` path (through a temporary file and a rename) and its own output to ``log``. When
stdin closes, the zygote kills its remaining children and exits.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import sys
from typing import Any

_PRELOAD = ("numpy", "pandas", "sklearn.linear_model", "lightgbm", "torch", "lepton_ai.engine.worker",
            "lepton_ai.models.registry", "lepton_ai.features.cache")


def main() -> None:
    for name in _PRELOAD:
        importlib.import_module(name)
    # Initialise torch's kernels once (~0.9 s) so forked neural trials start warm; one thread, so
    # no OpenMP pool exists at the fork.
    importlib.import_module("lepton_ai.models.torch_train").warm_up()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the executor's to handle
    out = sys.stdout
    children: dict[int, str] = {}
    stdin = sys.stdin.fileno()
    buffer = b""
    open_input = True
    while open_input or children:
        readable, _, _ = select.select([stdin] if open_input else [], [], [], 0.01)
        if readable:
            chunk = os.read(stdin, 1 << 16)
            if not chunk:
                open_input = False
                for pid in children:
                    _kill(pid)
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip():
                    request = json.loads(line)
                    pid = _fork_trial(request)
                    children[pid] = request["key"]
                    _send(out, {"event": "started", "key": children[pid], "pid": pid})
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            key = children.pop(pid, None)
            if key is not None:
                _send(out, {"event": "exited", "key": key, "pid": pid, "status": status})


def _fork_trial(request: dict[str, Any]) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
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


def _send(out: Any, message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


if __name__ == "__main__":
    main()
