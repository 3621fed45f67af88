"""A real Dask cluster on loopback for the tests: a scheduler and workers as subprocesses.

Each process starts in its own session (process group) and is stopped by killing that group, so
nanny, worker and the trial servers under them all go. Workers get ``PYTHONPATH`` with this tree's
``src`` first, so they import the code under test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
TESTS = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LoopbackCluster:
    """Scheduler and worker processes; ``address`` is the scheduler's."""

    address: str
    log_dir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def add_worker(self, *, cores: int = 1, nthreads: int = 1, pythonpath: str | None = None,
                   memory_limit: str = "2GB") -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": pythonpath or os.pathsep.join([str(SRC), str(TESTS)])}
        args = [sys.executable, "-m", "distributed.cli.dask_worker", self.address, "--nworkers", "1",
                "--nthreads", str(nthreads), "--resources", f"cores={cores}", "--no-dashboard",
                "--host", "127.0.0.1", "--local-directory", str(self.log_dir), "--memory-limit", memory_limit]
        log = open(self.log_dir / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115 (lives with the process)
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
        for process in self.processes:
            process.wait(timeout=30)


def start_cluster(log_dir: Path, n_workers: int = 2, timeout_s: float = 60.0, **worker_options) -> LoopbackCluster:
    """A scheduler on a free loopback port and ``n_workers`` workers, once they have all joined."""
    port = free_port()
    cluster = LoopbackCluster(f"tcp://127.0.0.1:{port}", log_dir)
    log = open(log_dir / "scheduler.log", "wb")  # noqa: SIM115 (lives with the process)
    cluster.processes.append(subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--no-dashboard"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    try:
        for _ in range(n_workers):
            cluster.add_worker(**worker_options)
        wait_for_workers(cluster.address, n_workers, timeout_s)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def wait_for_workers(address: str, n_workers: int, timeout_s: float) -> None:
    from distributed import Client

    deadline = time.monotonic() + timeout_s
    with Client(address, timeout=timeout_s, set_as_default=False) as client:
        client.wait_for_workers(n_workers, timeout=max(1.0, deadline - time.monotonic()))


def worker_pids(address: str) -> dict[str, int]:
    """The pid of every worker process, by worker address."""
    from distributed import Client

    with Client(address, timeout=10, set_as_default=False) as client:
        return client.run(os.getpid)
