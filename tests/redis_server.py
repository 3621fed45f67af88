"""A throw-away Redis server on 127.0.0.1 for the shared-cache tests, from Debian's ``redis-server``.

Not a conftest.py: tests import :func:`redis_server` where they need one. It keeps nothing on disk
(no snapshots, no append-only file) and is stopped by its process id. Without the binary
(``apt-get install redis-server``) or the client (``pip install redis``) the tests that need it
skip, saying so; ``.ci/run`` installs them.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A running server; yields its URL (``redis://127.0.0.1:PORT/0``)."""
    redis = pytest.importorskip("redis", reason="the redis client is not installed (pip install 'lepton-ai[cluster]')")
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    workdir = tempfile.mkdtemp(prefix="lepton-redis-")
    server = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                               "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(url, socket_connect_timeout=1).ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(workdir, ignore_errors=True)
