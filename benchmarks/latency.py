"""Latency as the user gets it: what the leaderboard prints against what ``model.predict`` costs.

For each table (the tabular sets of ../shared/datasets, and mixed tables made here: booleans, many
categoricals, missing values, 100+ columns) and each of the linear and GBDT families, one
``LeptonModel`` is trained (small search) and its chosen model is timed the way a user would:
``time.perf_counter()`` around ``model.predict(one_row_df)`` and ``model.predict(record)``, one call
per row. Beside it, in the same run, LightGBM with default parameters predicting a one-row pandas
DataFrame with categorical dtypes (its own way of taking text columns).

Printed per row: the leaderboard's end-to-end p50 (``latency_p50_ms``, measured in the trial's
worker) and model-only p50; the user-timed p50 from a DataFrame and from a record, each the median
of ``--repeats`` repeats with their spread (min-max of the repeat medians); ratios measured in this
run: user-timed over printed (target: within 1.5x, +0.02 ms), LightGBM and AutoGluon over lepton
from a DataFrame (target: at least 10x each), user batch rows/s over printed (target: at least 1).
Targets: one-row p50 from a DataFrame <= 0.2 ms, from a record <= 0.1 ms. Machine, versions and
the load of other processes are printed above the numbers.

    python benchmarks/latency.py                      # every table, 5 repeats (several minutes)
    python benchmarks/latency.py --quick              # two tables, 3 repeats, short searches
    python benchmarks/latency.py --tables wine,mixed-120 --repeats 7
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from harness import LABEL, TABULAR, busy_cores, load_split, machine_line, versions_line

SHARED_TABLES = (*TABULAR[:3], "rotten_tomatoes", *TABULAR[3:])
MIXED_TABLES = ("mixed-13", "mixed-120")
FAMILIES = ("linear", "gbdt")
CALLS = 200          # timed calls per repeat, one row each
DISTINCT_ROWS = 50   # rows cycled through (a user predicts different rows)
WARMUP = 10
BATCH_ROWS = 4096
PEER_PYTHON = Path(__file__).resolve().parent.parent / ".venv-bench" / "bin" / "python"


def mixed_table(n_columns: int, n_rows: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, str]:
    """A classification table of numbers with gaps, integers, booleans, yes/no words and categories
    (a third of them with more than 32 values), ``n_columns`` wide."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    score = np.zeros(n_rows)
    for i in range(n_columns):
        kind = i % 6
        if kind == 0:
            values = rng.normal(size=n_rows)
            score += values
            values[rng.random(n_rows) < 0.15] = np.nan
            columns[f"num{i}"] = values
        elif kind == 1:
            columns[f"count{i}"] = rng.integers(0, 100, size=n_rows)
        elif kind == 2:
            columns[f"city{i}"] = rng.choice(["paris", "rome", "oslo", "lima", "kyiv"], size=n_rows)
            score += columns[f"city{i}"] == "rome"
        elif kind == 3:
            columns[f"flag{i}"] = rng.random(n_rows) < 0.4
        elif kind == 4:
            columns[f"code{i}"] = np.array([f"c{j}" for j in rng.integers(0, 80, size=n_rows)], dtype=object)
        else:
            columns[f"member{i}"] = rng.choice(["yes", "no"], size=n_rows)
    frame = pd.DataFrame(columns)
    return frame, np.where(score > np.median(score), "high", "low"), "classification"


def split(name: str) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray, str]:
    if name.startswith("mixed-"):
        frame, y, task = mixed_table(int(name.split("-")[1]))
        cut = int(0.8 * len(frame))
        return frame.iloc[:cut], y[:cut], frame.iloc[cut:].reset_index(drop=True), y[cut:], task
    X, y, task = load_split(name, "train")
    Xt, yt, _ = load_split(name, "test")
    return X, y, Xt, yt, task


def p50_ms(predict: Callable[[Any], Any], rows: list[Any], repeats: int) -> tuple[float, float, float]:
    """Median over ``repeats`` of the per-call p50 (ms), with the lowest and highest repeat."""
    for row in rows[:WARMUP]:
        predict(row)
    medians = []
    for _ in range(repeats):
        times = []
        for i in range(CALLS):
            row = rows[i % len(rows)]
            start = time.perf_counter()
            predict(row)
            times.append(time.perf_counter() - start)
        medians.append(float(np.median(times)) * 1e3)
    return statistics.median(medians), min(medians), max(medians)


def lightgbm_rows(X: pd.DataFrame, y: np.ndarray, Xt: pd.DataFrame, task: str) -> tuple[Any, list[pd.DataFrame]]:
    """LightGBM with default parameters, text columns as pandas categoricals, and its one-row frames."""
    import lightgbm as lgb

    Xc, Xtc = X.copy(), Xt.copy()
    for c in X.columns:
        if not pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c]):
            dtype = pd.CategoricalDtype(sorted(X[c].dropna().astype(str).unique()))
            Xc[c], Xtc[c] = X[c].astype(str).astype(dtype), Xt[c].astype(str).astype(dtype)
    model = lgb.LGBMClassifier(verbose=-1) if task == "classification" else lgb.LGBMRegressor(verbose=-1)
    model.fit(Xc, y)
    return model, [Xtc.iloc[[i]] for i in range(min(DISTINCT_ROWS, len(Xtc)))]


def batch_rows_per_s(predict: Callable[[Any], Any], rows: pd.DataFrame, repeats: int) -> tuple[float, float, float]:
    """Median over ``repeats`` of rows/s of the median of 5 calls on ``rows`` repeated to BATCH_ROWS rows."""
    batch = pd.concat([rows] * (-(-BATCH_ROWS // len(rows))), ignore_index=True).head(BATCH_ROWS)
    predict(batch)
    rates = []
    for _ in range(repeats):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            predict(batch)
            times.append(time.perf_counter() - start)
        rates.append(len(batch) / statistics.median(times))
    return statistics.median(rates), min(rates), max(rates)


def autogluon_p50(name: str, budget_s: float, repeats: int) -> dict[str, Any] | None:
    """AutoGluon's figure from latency_peer.py in the peer venv; ``None`` (said in the table) without it."""
    if not PEER_PYTHON.exists():
        return None
    with tempfile.TemporaryDirectory(prefix="lepton-latency-") as tmp:
        out = Path(tmp) / "ag.json"
        done = subprocess.run([str(PEER_PYTHON), str(Path(__file__).with_name("latency_peer.py")), name,
                               str(budget_s), str(repeats), str(out)], capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            print(f"# AutoGluon on {name} failed: {done.stderr.strip().splitlines()[-1:]}")
            return None
        return json.loads(out.read_text())


def measure_table(name: str, budget_s: float, max_trials: int, repeats: int) -> list[dict[str, Any]]:
    from lepton_ai import LeptonModel

    X, y, Xt, yt, task = split(name)
    frames = [Xt.iloc[[i]] for i in range(min(DISTINCT_ROWS, len(Xt)))]
    records = Xt.head(DISTINCT_ROWS).to_dict("records")
    lgbm, lgbm_frames = lightgbm_rows(X, y, Xt, task)
    lgbm_p50 = p50_ms(lgbm.predict, lgbm_frames, repeats)
    autogluon = autogluon_p50(name, budget_s, repeats)
    out = []
    for family in FAMILIES:
        model = LeptonModel(budget=f"{budget_s}s", families=family, max_trials=max_trials, seed=0, verbose=0)
        model.train(X.assign(**{LABEL: y}), label=LABEL)
        chosen = model.chosen
        out.append({"table": name, "columns": X.shape[1], "family": chosen.family,
                    "printed": chosen.latency_p50_ms, "model_only": chosen.model_p50_ms,
                    "printed_record": chosen.record_p50_ms,
                    "frame": p50_ms(model.predict, frames, repeats), "record": p50_ms(model.predict, records, repeats),
                    "lightgbm": lgbm_p50, "autogluon": autogluon and tuple(autogluon["p50"]),
                    "autogluon_model": autogluon and autogluon["model"],
                    "printed_rows_per_s": chosen.rows_per_s,
                    "rows_per_s": batch_rows_per_s(model.predict, Xt, repeats)})
    return out


def report(rows: list[dict[str, Any]]) -> None:
    print("| table | cols | family | printed p50 | model-only p50 | user p50 DataFrame [spread] | user / printed "
          "| user p50 record [spread] | LightGBM p50 [spread] | LightGBM / lepton | AutoGluon p50 [spread] "
          "| AutoGluon / lepton | printed rows/s | user rows/s [spread] | user / printed | targets |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        frame, record, lgbm, ag = r["frame"], r["record"], r["lightgbm"], r["autogluon"]
        rate, printed_rate = r["rows_per_s"], r["printed_rows_per_s"]
        checks = {"df<=0.2": frame[0] <= 0.2, "rec<=0.1": record[0] <= 0.1, "lgbm>=10x": lgbm[0] >= 10 * frame[0],
                  "printed~user": frame[0] <= 1.5 * r["printed"] + 0.02 and r["printed"] <= 1.5 * frame[0] + 0.02,
                  "batch>=printed": rate[0] >= printed_rate}
        if ag is not None:
            checks["autogluon>=10x"] = ag[0] >= 10 * frame[0]
        failed = [k for k, ok in checks.items() if not ok]
        peer = (f"{_spread(ag)} ({r['autogluon_model']}) | {ag[0] / frame[0]:.0f}x" if ag is not None
                else "not run (no .venv-bench) | -")
        print(f"| {r['table']} | {r['columns']} | {r['family']} | {r['printed']:.3f} | {r['model_only']:.3f} "
              f"| {_spread(frame)} | {frame[0] / r['printed']:.2f}x | {_spread(record)} | {_spread(lgbm)} "
              f"| {lgbm[0] / frame[0]:.1f}x | {peer} | {printed_rate:,.0f} "
              f"| {rate[0]:,.0f} [{rate[1]:,.0f}-{rate[2]:,.0f}] | {rate[0] / printed_rate:.2f}x "
              f"| {'all met' if not failed else 'missed: ' + ', '.join(failed)} |")


def _spread(figure: tuple[float, float, float]) -> str:
    return f"{figure[0]:.3f} [{figure[1]:.3f}-{figure[2]:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="two tables, 3 repeats, short searches")
    parser.add_argument("--tables", help=f"comma-separated, from {', '.join(SHARED_TABLES + MIXED_TABLES)}")
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    tables = args.tables.split(",") if args.tables else (["wine", "mixed-13"] if args.quick else
                                                         [*SHARED_TABLES, *MIXED_TABLES])
    repeats = args.repeats or (3 if args.quick else 5)
    budget_s, max_trials = (6.0, 3) if args.quick else (20.0, 8)
    print(machine_line())
    print(versions_line())
    print(f"# other processes keep {busy_cores():.2f} cores busy; {repeats} repeats of {CALLS} one-row calls; "
          f"searches of {budget_s:g} s, at most {max_trials} trials; times in ms")
    warnings.simplefilter("ignore")
    rows = []
    for name in tables:
        rows += measure_table(name, budget_s, max_trials, repeats)
    report(rows)


if __name__ == "__main__":
    main()
