"""Dask executor benchmark: trials per second of one search on a 2-worker loopback cluster vs 1 worker.

For each cluster size (1 and 2 workers, one thread and ``--resources cores=1`` each) it starts a
scheduler and the workers on 127.0.0.1, warms their trial servers (so import time is not counted),
and runs ``SinglePointTechnique(cluster=ADDRESS, budget=B, refit=False).search`` on the same table
``--repeats`` times with seeds 0, 1, ...; it prints the median trials per second (trials that ran,
skipped ones left out), their ratio (target >= 1.7), and the best dev metric of the 2-worker
cluster next to a local run (``cluster=None``, 2 worker processes) with the same budget and seeds,
with the spread of those seeds. Every figure comes from this one run.

A cluster of 2 one-core workers needs 2 free cores beside the client and the scheduler: on a
machine with 2 cores (or one loaded by others) the ratio says more about the machine than the
executor; the machine line gives the load average.

    python benchmarks/cluster.py [--dataset breast_cancer] [--budget 20] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import LABEL, load_split, machine_line, version, versions_line  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"


def start_cluster(n_workers: int, log_dir: Path) -> tuple[str, list[subprocess.Popen]]:
    """A scheduler on a free loopback port and ``n_workers`` one-core workers, once they have joined
    and their trial servers have their imports."""
    from distributed import Client

    from lepton_ai.engine.dask_task import warm_worker

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    commands = [[sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                 "--no-dashboard"]]
    commands += [[sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "1", "--nthreads", "1",
                  "--resources", "cores=1", "--no-dashboard", "--host", "127.0.0.1",
                  "--local-directory", str(log_dir)]] * n_workers
    processes = []
    for i, command in enumerate(commands):
        log = open(log_dir / f"process-{i}.log", "wb")  # noqa: SIM115 (lives with the process)
        processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True))
    try:
        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(n_workers, timeout=120)
            give_up = time.monotonic() + 180
            while not all(client.run(warm_worker, []).values()) and time.monotonic() < give_up:
                time.sleep(0.2)
    except BaseException:
        stop_cluster(processes)
        raise
    return address, processes


def stop_cluster(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
    for process in processes:
        process.wait(timeout=30)


def one_search(cluster: str | None, train: Any, task: str, args: argparse.Namespace, seed: int,
               home: Path) -> dict[str, Any]:
    from lepton_ai import SinglePointTechnique

    engine = SinglePointTechnique(cluster=cluster, workers=2, budget=f"{args.budget:g}s", families=args.families,
                                  seed=seed, refit=False, patience=10_000, home=home)
    started = time.perf_counter()
    result = engine.search(train, label=LABEL, task=task)
    wall = time.perf_counter() - started
    ran = [t for t in result.trials if t.status != "skipped"]
    return {"trials": len(ran), "wall_s": wall, "trials_per_s": len(ran) / wall,
            "workers": len({t.worker for t in ran if t.worker}),   # 0 for the local run
            "best": max((t.dev_metric for t in ran if t.ok and t.dev_metric is not None), default=float("nan"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="breast_cancer")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per search")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--families", default="linear,gbdt")
    parser.add_argument("--quick", action="store_true", help="budget 8 s, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.budget, args.repeats = 8.0, 1
    X, y, task = load_split(args.dataset, "train")
    train = X.assign(**{LABEL: y})
    print(machine_line())
    print(versions_line() + f", dask {version('dask')}, distributed {version('distributed')}")
    print(f"# {args.dataset}: {len(train)} rows; families {args.families}; budget {args.budget:g}s; "
          f"{args.repeats} repeat(s)")
    runs: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="lepton-bench-cluster-") as tmp:
        root = Path(tmp)
        for n_workers in (1, 2):
            log_dir = root / f"cluster-{n_workers}"
            log_dir.mkdir()
            address, processes = start_cluster(n_workers, log_dir)
            try:
                runs[f"{n_workers} worker(s)"] = [one_search(address, train, task, args, seed, root / "home")
                                                  for seed in range(args.repeats)]
            finally:
                stop_cluster(processes)
        runs["local, 2 processes"] = [one_search(None, train, task, args, seed, root / "home")
                                      for seed in range(args.repeats)]
    report(runs)


def report(runs: dict[str, list[dict[str, Any]]]) -> None:
    print(f"\n{'executor':<20} {'trials/s':>9} {'trials':>7} {'wall s':>7} {'workers used':>13} {'best dev':>9}")
    for name, results in runs.items():
        print(f"{name:<20} {statistics.median(r['trials_per_s'] for r in results):>9.2f} "
              f"{statistics.median(r['trials'] for r in results):>7.0f} "
              f"{statistics.median(r['wall_s'] for r in results):>7.1f} "
              f"{max(r['workers'] for r in results):>13} {statistics.median(r['best'] for r in results):>9.4f}")
    one, two = (statistics.median(r["trials_per_s"] for r in runs[k]) for k in ("1 worker(s)", "2 worker(s)"))
    print(f"\ntrials/s, 2 workers / 1 worker: {two / one:.2f}x (target >= 1.7x)")
    local = [r["best"] for r in runs["local, 2 processes"]]
    cluster = statistics.median(r["best"] for r in runs["2 worker(s)"])
    print(f"best dev metric, 2-worker cluster {cluster:.4f} vs local {statistics.median(local):.4f} "
          f"(local seeds spread {max(local) - min(local):.4f})")


if __name__ == "__main__":
    main()
