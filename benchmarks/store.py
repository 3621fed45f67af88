"""Several nodes, one PostgreSQL run store: searches writing it at once, and a killed node's run resumed elsewhere.

It starts PostgreSQL and Redis on 127.0.0.1 (Debian's packages, as the tests do) and runs, each as
a user would, with its own ``LEPTON_HOME`` (a node with its own disk) and the same ``--store`` URL
and ``LEPTON_CACHE``:

1. **at once**: ``--nodes`` ``lepton train`` commands started together on different tables;
2. **killed**: one more ``lepton train``, killed with SIGKILL once it has finished ``--kill-after``
   trials, then ``lepton runs resume RUN`` from another node's home.

From the store alone it counts, for every run: trials lost (recorded as started and never ended),
trials duplicated (one trial id twice, or one candidate at one rung run twice), runs not finished;
for the killed run, whether the trials it cut off were run by the second node and whether the models
the first node finished were reused (not trained again).

    python benchmarks/store.py [--nodes 2] [--budget 20] [--kill-after 3]
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "engine"))
from harness import machine_line, versions_line  # noqa: E402

LEPTON = str(Path(sys.executable).parent / "lepton")


def write_table(path: Path, seed: int, n: int = 3_000) -> None:
    """A classification table of its own for each node."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    y = np.where(X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(scale=0.5, size=n) > 0, "a", "b")
    pd.DataFrame(X, columns=[f"f{i}" for i in range(8)]).assign(label=y).to_csv(path, index=False)


def node_env(home: Path, cache: str) -> dict[str, str]:
    return {**os.environ, "LEPTON_HOME": str(home), "LEPTON_CACHE": cache}


def audit(store_url: str, run_id: str) -> dict[str, object]:
    """What the store says of ``run_id``: statuses, lost and duplicated trials, the workers."""
    from lepton_ai.engine.runstore import RunStore

    store = RunStore(store_url)
    run = store.run(run_id)
    rows = store.trials(run_id)
    ids = collections.Counter(t.trial_id for _, t in rows)
    candidates = collections.Counter((t.config_id or t.trial_id, t.rung) for _, t in rows
                                     if t.family != "ensemble" and t.status != "skipped")
    return {"status": run["status"], "trials": len(rows),
            "statuses": dict(collections.Counter(status for status, _ in rows)),
            "lost": sum(status not in ("ok", "failed", "skipped") for status, _ in rows),
            "duplicated": sum(n - 1 for n in ids.values()) + sum(n - 1 for n in candidates.values())}


def run_id_of(text: str) -> str:
    import re

    found = re.search(r"\(run (\S+)\)", text)
    if found is None:
        raise SystemExit(f"no run id in the output:\n{text[-2000:]}")
    return found.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument("--kill-after", type=int, default=3)
    args = parser.parse_args()
    print(machine_line())
    print(versions_line())
    from postgres_server import postgres

    from lepton_ai.engine.runstore import RunStore
    from redis_server import redis_server

    work = Path(tempfile.mkdtemp(prefix="lepton-store-bench-"))
    with postgres() as pg, redis_server() as cache:
        print(f"store: {pg.url}; cache: {cache}")
        # 1. Nodes writing one store at once.
        processes, started = [], time.monotonic()
        for node in range(args.nodes):
            write_table(work / f"table-{node}.csv", seed=node)
            processes.append(subprocess.Popen(
                [LEPTON, "train", str(work / f"table-{node}.csv"), "--label", "label", "--budget", f"{args.budget}s",
                 "--store", pg.url, "--workers", "1", "--families", "linear,gbdt,mlp", "--out",
                 str(work / f"model-{node}"), "--quiet"],
                env=node_env(work / f"node-{node}", cache), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True))
        outputs = [p.communicate()[0] for p in processes]
        wall = time.monotonic() - started
        for node, (process, text) in enumerate(zip(processes, outputs, strict=True)):
            if process.returncode != 0:
                raise SystemExit(f"node {node} exited {process.returncode}:\n{text[-2000:]}")
        totals = collections.Counter()
        for node, text in enumerate(outputs):
            found = audit(pg.url, run_id_of(text))
            totals.update({k: found[k] for k in ("trials", "lost", "duplicated")})
            print(f"at once, node {node}: run {run_id_of(text)} {found}")
        print(f"at once: {args.nodes} nodes, {totals['trials']} trials in {wall:.0f}s; lost {totals['lost']}, "
              f"duplicated {totals['duplicated']}")

        # 2. A node killed mid-run; another resumes its run.
        write_table(work / "table-k.csv", seed=99)
        killed = subprocess.Popen(
            [LEPTON, "train", str(work / "table-k.csv"), "--label", "label", "--budget", f"{2 * args.budget}s",
             "--store", pg.url, "--workers", "2", "--families", "linear,gbdt,mlp", "--out", str(work / "model-k"),
             "--quiet"], env=node_env(work / "node-k", cache), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        store = RunStore(pg.url)
        known = {r["run_id"] for r in store.runs(limit=None)}
        run_id, deadline = None, time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(0.2)
            fresh = [r["run_id"] for r in store.runs(limit=None) if r["run_id"] not in known]
            if fresh:
                run_id = fresh[0]
                if sum(t.ok for t in store.finished_trials(run_id)) >= args.kill_after:
                    break
        if run_id is None:
            raise SystemExit("the node to kill never recorded a run")
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait()
        before = store.trials(run_id)
        finished = {t.trial_id for status, t in before if status == "ok"}
        cut = [t.trial_id for status, t in before if status == "running"]
        print(f"killed: run {run_id} with {len(finished)} trials finished, {len(cut)} running ({', '.join(cut)})")
        started = time.monotonic()
        resumed = subprocess.run([LEPTON, "runs", "resume", run_id, "--store", pg.url, "--out", str(work / "model-r"),
                                  "--quiet"], env=node_env(work / "node-r", cache), capture_output=True, text=True)
        if resumed.returncode != 0:
            raise SystemExit(f"resume exited {resumed.returncode}:\n{resumed.stdout[-2000:]}{resumed.stderr[-2000:]}")
        found = audit(pg.url, run_id)
        after = {t.trial_id: t for _, t in store.trials(run_id)}
        reran = [trial_id for trial_id in cut if after[trial_id].status in ("ok", "failed")]
        reused = all((work / "node-r" / "runs" / run_id / "trials" / trial_id).is_dir() for trial_id in finished)
        print(f"resumed on another node in {time.monotonic() - started:.0f}s: {found}")
        print(f"killed node: {len(cut)} trials cut off, {len(reran)} of them rerun by the other node; "
              f"its {len(finished)} finished models fetched from the cache: {reused}; lost {found['lost']}, "
              f"duplicated {found['duplicated']}")


if __name__ == "__main__":
    main()
