"""What every benchmarked system shares: reading a split, scoring, timing predictions, and the
machine and library versions printed at the top of a run.

Nothing here imports a system under test, so the parent process of ``run.py`` stays light and each
system pays its own import cost in its own subprocess.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SHARED = Path(os.environ.get("LEPTON_BENCH_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "datasets")
TABULAR = ("breast_cancer", "wine", "diamonds", "digits", "mnist5k")
LABEL = "__label__"  # the label column's name when a system wants one frame with features and label

# Single-row latency: up to SINGLE_ROW_CALLS timed calls, stopping early after SINGLE_ROW_MAX_S seconds
# (a slow predictor such as AutoGluon's ensemble would otherwise spend a minute here per run).
SINGLE_ROW_CALLS = 200
SINGLE_ROW_MAX_S = 5.0
BATCH_MIN_S = 0.5
# Batch throughput: the test rows repeated up to at least BATCH_ROWS rows per call, so that a small test
# set (wine has 36 rows) measures rows per second rather than the fixed cost of one call.
BATCH_ROWS = 10_000

Predict = Callable[[pd.DataFrame], Any]


def load_split(name: str, part: str) -> tuple[pd.DataFrame, np.ndarray, str]:
    """Features, labels and task of ``part`` (train/test); images come back as flat pixel columns."""
    meta = json.loads((SHARED / name / "meta.json").read_text())
    path = SHARED / name / f"{part}.csv"
    if path.exists():
        frame = pd.read_csv(path)
        return frame.drop(columns=meta["label"]), frame[meta["label"]].to_numpy(), meta["task"]
    with np.load(SHARED / name / f"{part}.npz", allow_pickle=False) as z:
        x, y = z["x"], z["y"]
    flat = x.reshape(len(x), -1).astype(np.float32)
    return pd.DataFrame(flat, columns=[f"p{i}" for i in range(flat.shape[1])]), y, meta["task"]


def score(task: str, y_true: np.ndarray, y_pred: Any) -> float:
    """Accuracy for classification, R² for regression."""
    from sklearn.metrics import accuracy_score, r2_score

    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if task == "classification":
        if y_true.dtype.kind not in "iufb" or y_pred.dtype.kind not in "iufb":  # labels as text on one side
            y_true, y_pred = y_true.astype(str), y_pred.astype(str)
        return float(accuracy_score(y_true, y_pred))
    return float(r2_score(y_true, y_pred.astype(float)))


def time_single_rows(predict: Predict, X: pd.DataFrame) -> float:
    """Median milliseconds of ``predict`` on a one-row DataFrame."""
    rows = [X.iloc[[i % len(X)]] for i in range(min(SINGLE_ROW_CALLS, 50))]
    for r in rows[:5]:
        predict(r)
    times: list[float] = []
    deadline = time.perf_counter() + SINGLE_ROW_MAX_S
    for i in range(SINGLE_ROW_CALLS):
        start = time.perf_counter()
        predict(rows[i % len(rows)])
        times.append(time.perf_counter() - start)
        if start > deadline and len(times) >= 20:
            break
    return float(np.median(times) * 1e3)


def time_batch(predict: Predict, X: pd.DataFrame) -> float:
    """Rows per second of ``predict`` on the test rows (repeated to BATCH_ROWS rows), calls repeated for
    at least BATCH_MIN_S."""
    if len(X) < BATCH_ROWS:
        X = pd.concat([X] * -(-BATCH_ROWS // len(X)), ignore_index=True)
    predict(X)
    start, n = time.perf_counter(), 0
    while n == 0 or time.perf_counter() - start < BATCH_MIN_S:
        predict(X)
        n += len(X)
    return n / (time.perf_counter() - start)


def measure(predict: Predict, Xt: pd.DataFrame, yt: np.ndarray, task: str, wall_s: float) -> dict[str, float]:
    """Test metric, fit wall seconds, one-row p50 ms and batch rows/s of one fitted system.

    Prediction is timed once the processes the fit started have exited or gone idle (``settle``): a
    system whose fit returns while its workers are still shutting down would otherwise have its first
    timings taken on a busy machine.
    """
    settled = settle()
    return {"metric": score(task, yt, predict(Xt)), "wall_s": wall_s, "p50_ms": time_single_rows(predict, Xt),
            "rows_per_s": time_batch(predict, Xt), "settle_s": settled}


def _descendants_cpu() -> dict[int, float]:
    """CPU seconds so far of each live process descending from this one (Linux /proc)."""
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] == "Z":
            continue
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / tick
    mine: set[int] = set()
    frontier = {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - mine
        mine |= frontier
    return {pid: cpu[pid] for pid in mine}


def settle(max_s: float = 10.0, window_s: float = 0.25) -> float:
    """Wait (at most ``max_s``) until this process's descendants have exited or used no CPU for
    ``window_s``; returns the seconds waited."""
    if not Path("/proc/self/stat").exists():
        return 0.0
    start = time.perf_counter()
    before = _descendants_cpu()
    while before and time.perf_counter() - start < max_s:
        time.sleep(window_s)
        now = _descendants_cpu()
        if all(used - before.get(pid, 0.0) < 0.01 for pid, used in now.items()):
            break
        before = now
    return time.perf_counter() - start


# ---- the header: machine and versions ----------------------------------------------------------
VERSIONED = ("lepton-ai", "torch", "numpy", "pandas", "scikit-learn", "lightgbm", "flaml", "autogluon.tabular",
             "xgboost", "xgboost-cpu", "catboost")


def version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f", {kb / 2**20:.0f} GiB RAM"
    except (OSError, IndexError, ValueError):
        pass
    return (f"# machine: {cpu}, {os.cpu_count()} logical CPUs ({usable} usable){memory}; "
            f"{platform.system()} {platform.release()}; python {platform.python_version()}; "
            f"load average {load_average():.2f}")


def load_average() -> float:
    """The 1-minute load average (0 where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def busy_cores(window_s: float = 0.25) -> float:
    """Cores kept busy by the whole machine over ``window_s`` (from /proc/stat; 0 where there is none).
    Called between runs, when this benchmark itself is idle, it measures other processes' load."""
    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return sum(values) - idle, sum(values)

    try:
        busy0, total0 = sample()
        time.sleep(window_s)
        busy1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return 0.0
    return (busy1 - busy0) / max(total1 - total0, 1) * (os.cpu_count() or 1)


def versions_line() -> str:
    found = [f"{d} {v}" for d in VERSIONED if (v := version(d))]
    return "# versions: " + ", ".join(found)


def seeded_comparison_args(doc: str) -> tuple[int, list[int]]:
    """``--budget`` (seconds, default 15) and ``--seeds`` (default 0,1,2) of a benchmark that trains
    twice per made-up table, the module's ``doc`` as its help; prints the machine and versions lines."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=15)
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    print(machine_line())
    print(versions_line())
    return args.budget, [int(s) for s in args.seeds.split(",")]

