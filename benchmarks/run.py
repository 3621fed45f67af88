"""lepton-ai vs plain baselines on the tabular sets of ../shared/datasets, in one run.

For each dataset: lepton-ai (``LeptonModel(budget=B)``, default objective), a scikit-learn
linear baseline (standardise + logistic/ridge) and LightGBM with default parameters. Each system
fits on ``train``, is scored on ``test``; then single-row latency is timed through each system's
own Python API (a one-row DataFrame in, a prediction out) and batch throughput on the test rows.
Figures are medians over ``--repeats`` runs; ratios compare systems measured in this same run.

    python benchmarks/run.py [--budget 30] [--repeats 3] [--datasets breast_cancer,wine]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
TABULAR = ("breast_cancer", "wine", "diamonds", "digits", "mnist5k")


def load_split(name: str, part: str) -> tuple[pd.DataFrame, np.ndarray, str]:
    meta = json.loads((SHARED / name / "meta.json").read_text())
    path = SHARED / name / f"{part}.csv"
    if path.exists():
        frame = pd.read_csv(path)
        return frame.drop(columns=meta["label"]), frame[meta["label"]].to_numpy(), meta["task"]
    with np.load(SHARED / name / f"{part}.npz", allow_pickle=False) as z:
        x, y = z["x"], z["y"]
    flat = x.reshape(len(x), -1).astype(np.float32)
    return pd.DataFrame(flat, columns=[f"p{i}" for i in range(flat.shape[1])]), y, meta["task"]


def time_single_rows(predict, X: pd.DataFrame, n: int = 200) -> float:
    rows = [X.iloc[[i % len(X)]] for i in range(min(n, 50))]
    for r in rows[:5]:
        predict(r)
    times = []
    for i in range(n):
        start = time.perf_counter()
        predict(rows[i % len(rows)])
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def time_batch(predict, X: pd.DataFrame) -> float:
    predict(X)
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < 0.5:
        predict(X)
        n += len(X)
    return n / (time.perf_counter() - start)


def score(task: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    from sklearn.metrics import accuracy_score, r2_score

    return float(accuracy_score(y_true, y_pred) if task == "classification" else r2_score(y_true, y_pred))


def run_lepton(X, y, Xt, yt, task, budget):
    from lepton_ai import LeptonModel

    train = X.assign(__label__=y)
    start = time.perf_counter()
    model = LeptonModel(budget=f"{budget}s", verbose=0, task=task).train(train, label="__label__")
    wall = time.perf_counter() - start
    fast = LeptonModel(budget=f"{budget}s", verbose=0, task=task)
    fast.result_, fast.chosen_ = model.result_, model.chosen_
    fast.select(objective="speed")
    out = {"lepton (balanced)": _measure(model.predict, Xt, yt, task, wall) | {"model": model.chosen.family}}
    out["lepton (speed)"] = _measure(fast.predict, Xt, yt, task, wall) | {"model": fast.chosen.family}
    return out


def run_linear(X, y, Xt, yt, task):
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), make_column_selector(dtype_include="number")),
        (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_exclude="number")),
    )
    est = LogisticRegression(max_iter=1000) if task == "classification" else Ridge()
    model = make_pipeline(pre, est)
    start = time.perf_counter()
    model.fit(X, y)
    return _measure(model.predict, Xt, yt, task, time.perf_counter() - start)


def run_lightgbm(X, y, Xt, yt, task):
    import lightgbm as lgb

    cats = [c for c in X.columns if X[c].dtype == object]
    Xc, Xtc = X.copy(), Xt.copy()
    for c in cats:
        dtype = pd.CategoricalDtype(sorted(X[c].dropna().unique()))
        Xc[c], Xtc[c] = X[c].astype(dtype), Xt[c].astype(dtype)
    model = lgb.LGBMClassifier(verbose=-1) if task == "classification" else lgb.LGBMRegressor(verbose=-1)
    start = time.perf_counter()
    model.fit(Xc, y)
    return _measure(model.predict, Xtc, yt, task, time.perf_counter() - start)


def _measure(predict, Xt, yt, task, wall):
    return {"metric": score(task, yt, predict(Xt)), "wall_s": wall, "p50_ms": time_single_rows(predict, Xt),
            "rows_per_s": time_batch(predict, Xt)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--datasets", default=",".join(TABULAR))
    args = parser.parse_args()
    import lightgbm
    import sklearn
    import torch

    print(f"# machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"torch {torch.__version__}, lightgbm {lightgbm.__version__}, scikit-learn {sklearn.__version__}, "
          f"threads {torch.get_num_threads()}; budget {args.budget:g}s; medians of {args.repeats}")
    header = (f"{'dataset':<14} {'system':<20} {'model':<7} {'test metric':>11} {'wall s':>7} {'p50 ms':>8} "
              f"{'rows/s':>12}")
    for name in args.datasets.split(","):
        if not (SHARED / name).exists():
            print(f"{name}: not found under {SHARED}, skipped")
            continue
        X, y, task = load_split(name, "train")
        Xt, yt, _ = load_split(name, "test")
        runs: dict[str, list[dict]] = {}
        for _ in range(args.repeats):
            results = run_lepton(X, y, Xt, yt, task, args.budget)
            results["linear baseline"] = run_linear(X, y, Xt, yt, task)
            results["LightGBM defaults"] = run_lightgbm(X, y, Xt, yt, task)
            for system, r in results.items():
                runs.setdefault(system, []).append(r)
        print(header)
        medians = {}
        for system, rs in runs.items():
            med = {k: statistics.median(r[k] for r in rs) for k in ("metric", "wall_s", "p50_ms", "rows_per_s")}
            medians[system] = med
            model = rs[-1].get("model", "")
            print(f"{name:<14} {system:<20} {model:<7} {med['metric']:>11.4f} {med['wall_s']:>7.1f} "
                  f"{med['p50_ms']:>8.3f} {med['rows_per_s']:>12,.0f}")
        lep = medians["lepton (balanced)"]
        for peer in ("linear baseline", "LightGBM defaults"):
            p = medians[peer]
            print(f"{'':<14} lepton/{peer}: metric {lep['metric'] - p['metric']:+.4f}, "
                  f"single-row latency x{lep['p50_ms'] / p['p50_ms']:.2f}")
        print()


if __name__ == "__main__":
    main()
