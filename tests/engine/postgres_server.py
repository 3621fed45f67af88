"""A throw-away PostgreSQL server on 127.0.0.1 for the run-store tests, from Debian's packages.

Not a conftest.py: tests import :func:`postgres` where they need one. The server runs from a fresh
data folder (``initdb``, trust authentication for one user, no fsync), as the ``postgres`` system
user when the tests run as root (PostgreSQL refuses to run as root), and is stopped by its process
id. Without PostgreSQL's binaries (``apt-get install postgresql``) the tests that need it skip,
saying so; ``.ci/run`` installs them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

USER = "lepton"


def _bindir() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One server's data folder, started and stopped (by its process id) as a test needs."""

    def __init__(self) -> None:
        pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'lepton-ai[cluster]')")
        bindir = _bindir()
        if bindir is None:
            pytest.skip("PostgreSQL's binaries are not installed (apt-get install postgresql)")
        self.bindir = bindir
        self.run_as: dict[str, object] = {}
        self.root = Path(tempfile.mkdtemp(prefix="lepton-pg-"))
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root, and there is no postgres user to run PostgreSQL as")
            os.chmod(self.root, 0o755)
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self.run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        self.data, self.port = self.root / "data", _free_port()
        subprocess.run([str(bindir / "initdb"), "-D", str(self.data), "-U", USER, "-A", "trust", "--no-sync"],
                       check=True, capture_output=True, cwd=self.root, **self.run_as)  # type: ignore[call-overload]
        self.url = f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/postgres"
        self.process: subprocess.Popen | None = None

    def start(self) -> PostgresServer:
        self.process = subprocess.Popen(
            [str(self.bindir / "postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port),
             "-k", str(self.root), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.root,
            **self.run_as)  # type: ignore[call-overload]
        _wait_ready(self.port, self.process)
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)  # fast shutdown: clients are disconnected, no waiting
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def postgres() -> Iterator[PostgresServer]:
    """A running server (its ``url``: ``postgresql+psycopg://lepton@127.0.0.1:PORT/postgres``), removed after."""
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.remove()


def _wait_ready(port: int, server: subprocess.Popen, timeout_s: float = 30.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout_s
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"PostgreSQL exited with code {server.returncode} before accepting connections")
        try:
            psycopg.connect(host="127.0.0.1", port=port, user=USER, dbname="postgres", connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
