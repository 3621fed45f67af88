"""Data bigger than memory: `lepton train FOLDER --memory 1GB` on a generated multi-GB Parquet folder.

It writes a regression table as Spark would (``day=`` partitions, snappy part files, ``_SUCCESS``)
of ``--size`` GB on disk, and a separate test file from the same distribution, then runs, each as
a user would, in its own process tree:

1. **libraries**: ``lepton train`` on a 5,000-row table of the same columns with the same flags:
   the peak memory (PSS) of its process tree is what the interpreter and libraries take;
2. **lepton**: ``lepton train FOLDER --memory LIMIT --test TEST --families gbdt``: its peak PSS,
   wall time, the rows its final fit read and its test R²;
3. **in memory**: plain LightGBM on every row of the folder in memory (this machine has the room),
   500 rounds with early stopping on 5% of the rows, scored on the same test file.

The targets: peak PSS of (2) within LIMIT plus the peak of (1); R² of (2) at least 80% of (3).
PSS (proportional set size) splits pages shared between processes (the forked workers share the
libraries) among them, so the sum over the tree counts each page once. It is sampled every 0.2 s
from /proc/PID/smaps_rollup of every process below the command.

    python benchmarks/memory.py [--size 5] [--memory 1GB] [--budget 300] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import machine_line, versions_line  # noqa: E402

_NUMERIC = 16
_ROWS_PER_FILE = int(os.environ.get("LEPTON_BENCH_ROWS_PER_FILE", 1_000_000))
_DAYS = 10


def make_rows(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """16 numbers, a category of 8 and one of 50 values, an integer; y a smooth non-linear function of
    six of them with noise (R² of the truth about 0.9)."""
    X = rng.normal(size=(n, _NUMERIC))
    shop = rng.integers(0, 8, size=n)
    city = rng.integers(0, 50, size=n)
    units = rng.integers(0, 100, size=n)
    y = (np.sin(X[:, 0]) * 2 + X[:, 1] * X[:, 2] + np.abs(X[:, 3]) + 0.5 * (shop % 3) + 0.02 * (city % 7)
         + 0.01 * units + rng.normal(scale=0.5, size=n))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(_NUMERIC)])
    frame["shop"] = pd.Series(np.array([f"shop-{s}" for s in range(8)])[shop])
    frame["city"] = pd.Series(np.array([f"city-{c:02d}" for c in range(50)])[city])
    frame["units"] = units
    frame["y"] = y
    return frame


def write_folder(root: Path, size_gb: float, seed: int = 0) -> int:
    """Part files of a million rows under day=1..10 until ``size_gb`` is on disk; returns the rows."""
    rng = np.random.default_rng(seed)
    written, rows, index = 0, 0, 0
    while written < size_gb * 1e9:
        day = root / f"day={index % _DAYS + 1}"
        day.mkdir(parents=True, exist_ok=True)
        path = day / f"part-{index:05d}-5f1e.c000.snappy.parquet"
        pq.write_table(pa.Table.from_pandas(make_rows(rng, _ROWS_PER_FILE), preserve_index=False), path,
                       compression="snappy")
        written += path.stat().st_size
        rows += _ROWS_PER_FILE
        index += 1
    (root / "_SUCCESS").write_bytes(b"")
    return rows


def tree_pss(root_pid: int) -> int:
    """PSS bytes of ``root_pid`` and every process below it."""
    return sum(tree_pss_by_process(root_pid).values())


def tree_pss_by_process(root_pid: int) -> dict[int, int]:
    """PSS bytes of ``root_pid`` and of every process below it, by process id."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = {}, [root_pid]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    found[pid] = int(line.split()[1]) * 1024
        except OSError:
            continue
    return found


def run_measured(command: list[str], log: Path) -> tuple[int, float, str]:
    """Run ``command``; its peak tree PSS, wall seconds and output."""
    started = time.monotonic()
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        peak = [0]

        def watch() -> None:
            while process.poll() is None:
                by_process = tree_pss_by_process(process.pid)
                if sum(by_process.values()) > peak[0]:
                    peak[0] = sum(by_process.values())
                    at[:] = [time.monotonic() - started, by_process]
                time.sleep(0.2)

        at: list = [0.0, {}]

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        process.wait()
        watcher.join()
    wall = time.monotonic() - started
    print(f"  peak at {at[0]:.1f}s: " + ", ".join(f"pid {pid} {pss / 2**20:.0f} MiB" for pid, pss in
                                                  sorted(at[1].items(), key=lambda kv: -kv[1])), flush=True)
    text = log.read_text(errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}:\n{text[-3000:]}")
    return peak[0], wall, text


def in_memory_r2(root: Path, test: pd.DataFrame) -> tuple[float, float, int]:
    """Plain LightGBM on every row of ``root`` in memory (one float32 array; the categories as their
    codes, declared categorical): test R², seconds, rows trained on."""
    import lightgbm as lgb
    from sklearn.metrics import r2_score

    started = time.monotonic()
    names = [c for c in test.columns if c != "y"]
    categories = {name: sorted(set(test[name])) for name in ("shop", "city")}

    def column(values: np.ndarray, name: str) -> np.ndarray:
        return pd.Categorical(values, categories=categories[name]).codes if name in categories else values

    # One column at a time into one float32 array: the whole table as Arrow and pandas at once
    # needs about 23 GB.
    y = pq.read_table(root, columns=["y"])["y"].to_numpy()
    X = np.empty((len(y), len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        X[:, j] = column(pq.read_table(root, columns=[name])[name].to_numpy(), name)

    def as_array(columns: dict) -> np.ndarray:
        return np.column_stack([column(columns[name], name) for name in names]).astype(np.float32)

    dev = np.random.default_rng(0).random(len(y)) < 0.05
    cat = [names.index(n) for n in categories]
    train = lgb.Dataset(X[~dev], label=y[~dev], categorical_feature=cat, free_raw_data=True)
    valid = lgb.Dataset(X[dev], label=y[dev], reference=train)
    del X
    booster = lgb.train({"objective": "regression", "verbose": -1, "num_threads": os.cpu_count() or 1}, train,
                        num_boost_round=500, valid_sets=[valid], callbacks=[lgb.early_stopping(30, verbose=False)])
    predicted = booster.predict(as_array({name: test[name].to_numpy() for name in names}),
                                num_iteration=booster.best_iteration)
    return float(r2_score(test["y"], predicted)), time.monotonic() - started, int((~dev).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=float, default=5.0, help="GB of Parquet on disk")
    parser.add_argument("--memory", default="1GB")
    parser.add_argument("--budget", type=int, default=300, help="seconds for lepton train")
    parser.add_argument("--keep", type=Path, help="write (or reuse) the folder here instead of a temp dir")
    args = parser.parse_args()
    print(machine_line())
    print(versions_line())
    work = Path(tempfile.mkdtemp(prefix="lepton-memory-"))
    root = args.keep or work / "sales"
    try:
        if not (root / "_SUCCESS").is_file():
            started = time.monotonic()
            rows = write_folder(root, args.size)
            print(f"wrote {rows:,} rows in {time.monotonic() - started:.0f}s")
        disk = sum(p.stat().st_size for p in root.rglob("*.parquet"))
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in root.rglob("*.parquet"))
        print(f"table: {root} {disk / 1e9:.2f} GB on disk, {rows:,} rows")
        test = make_rows(np.random.default_rng(99), 200_000)
        test["day"] = np.random.default_rng(98).integers(1, _DAYS + 1, size=len(test)).astype(np.int32)
        test.to_parquet(work / "test.parquet", index=False)
        small = work / "small"
        small.mkdir()
        make_rows(np.random.default_rng(5), 5_000).to_parquet(small / "part-0.parquet", index=False)
        os.environ["LEPTON_HOME"] = str(work / "home")
        lepton = [str(Path(sys.executable).parent / "lepton"), "train"]
        common = ["--label", "y", "--families", "gbdt", "--memory", args.memory, "--quiet"]
        base_pss, base_wall, _ = run_measured(lepton + [str(small), "--budget", "20s", "--out", str(work / "m0"),
                                                        *common], work / "small.log")
        print(f"libraries: `lepton train` on 5,000 rows: peak PSS {base_pss / 2**20:.0f} MiB ({base_wall:.0f}s)")
        peak, wall, text = run_measured(lepton + [str(root), "--test", str(work / "test.parquet"), "--budget",
                                                  f"{args.budget}s", "--out", str(work / "m1"), *common],
                                        work / "big.log")
        print(text.strip()[-1500:])
        score = float(re.search(r"test r2 (-?[\d.]+)", text).group(1))
        read = re.search(r"final fit read ([\d,]+) rows", text)
        from lepton_ai.memory import parse_memory

        limit = parse_memory(args.memory)
        print(f"lepton: wall {wall:.0f}s, peak PSS of the process tree {peak / 2**20:.0f} MiB; "
              f"limit {limit / 2**20:.0f} MiB + libraries {base_pss / 2**20:.0f} MiB = "
              f"{(limit + base_pss) / 2**20:.0f} MiB -> "
              f"{'within' if peak <= limit + base_pss else 'OVER'}; final fit read "
              f"{read.group(1) if read else '?'} rows; test r2 {score:.4f}")
        from lepton_ai import SinglePointTechnique

        store = SinglePointTechnique(home=work / "home").store
        run_id = re.search(r"\(run (\S+)\)", text).group(1)
        for _, trial in store.trials(run_id):
            if trial.refit_error or trial.extra.get("refit_rows"):
                print(f"  refit of {trial.trial_id} (fit {trial.fit_s:.1f}s on the sample): "
                      f"{trial.refit_error or 'read ' + format(trial.extra['refit_rows'], ',') + ' rows'}"
                      f"{f' in {trial.refit_fit_s:.0f}s' if trial.refit_fit_s else ''}")
        reference, seconds, n = in_memory_r2(root, test)
        print(f"in memory: LightGBM on {n:,} rows, test r2 {reference:.4f} ({seconds:.0f}s)")
        print(f"lepton / in memory r2: {score / reference:.3f} (target >= 0.8)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
