"""lepton-ai on rotten_tomatoes (text) against TF-IDF + logistic regression, in the same run.

    python benchmarks/text.py            # 60 s budget, 1 repeat
    python benchmarks/text.py --quick    # 20 s budget
    python benchmarks/text.py --repeats 3

Prints test accuracy, fit wall seconds, one-row p50 latency and batch rows/s for each system (medians
over repeats), and lepton-ai's speed ratios to the baseline measured in the same run. The baseline is
the one in BASELINES.md: scikit-learn's TfidfVectorizer with default settings and LogisticRegression.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import LABEL, load_split, machine_line, measure, versions_line  # noqa: E402

DATASET = "rotten_tomatoes"


def run_baseline(X: pd.DataFrame, y: np.ndarray, Xt: pd.DataFrame, yt: np.ndarray) -> dict[str, float]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    start = time.perf_counter()
    pipeline = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000)).fit(X["text"], y)
    wall = time.perf_counter() - start
    return measure(lambda frame: pipeline.predict(frame["text"]), Xt, yt, "classification", wall)


def run_lepton(X: pd.DataFrame, y: np.ndarray, Xt: pd.DataFrame, yt: np.ndarray, budget_s: float,
               home: Path) -> tuple[dict[str, float | str], dict[str, float | str]]:
    """The default (``balanced``) choice, and the ``accuracy`` choice of the same search (no retraining)."""
    from lepton_ai import LeptonModel, SinglePointTechnique

    engine = SinglePointTechnique(budget=f"{budget_s:g}s", home=home)
    start = time.perf_counter()
    model = LeptonModel(budget=f"{budget_s:g}s", engine=engine, verbose=0).train(X.assign(**{LABEL: y}),
                                                                                 label=LABEL)
    wall = time.perf_counter() - start
    balanced = {**measure(model.predict, Xt, yt, "classification", wall), "model": _chosen(model)}
    model.select(objective="accuracy")
    return balanced, {**measure(model.predict, Xt, yt, "classification", wall), "model": _chosen(model)}


def _chosen(model: object) -> str:
    chosen = model.chosen  # type: ignore[attr-defined]
    return f"{chosen.trial_id} {chosen.family} {chosen.params}"



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 s budget instead of 60 s")
    parser.add_argument("--budget", type=float, default=None, help="lepton-ai budget in seconds")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    budget_s = args.budget or (20.0 if args.quick else 60.0)
    X, y, _ = load_split(DATASET, "train")
    Xt, yt, _ = load_split(DATASET, "test")
    print(machine_line())
    print(versions_line())
    print(f"# {DATASET}: {len(X)} train rows, {len(Xt)} test rows; lepton-ai budget {budget_s:g} s; "
          f"{args.repeats} repeat(s), medians shown")
    runs: dict[str, list[dict]] = {"tfidf+logistic": [], "lepton-ai": [], "lepton accuracy": []}
    for _ in range(args.repeats):
        runs["tfidf+logistic"].append(run_baseline(X, y, Xt, yt))
        with tempfile.TemporaryDirectory(prefix="lepton-bench-text-") as home:  # a cold feature cache
            balanced, accurate = run_lepton(X, y, Xt, yt, budget_s, Path(home))
        runs["lepton-ai"].append(balanced)
        runs["lepton accuracy"].append(accurate)
    medians = {name: {k: statistics.median(r[k] for r in rows) for k in ("metric", "wall_s", "p50_ms", "rows_per_s")}
               for name, rows in runs.items()}
    print(f"{'system':<16} {'test acc':>9} {'wall s':>8} {'p50 ms':>8} {'rows/s':>10}  model")
    for name, m in medians.items():
        chosen = ",".join(str(r.get("model", "")) for r in runs[name])
        print(f"{name:<16} {m['metric']:>9.4f} {m['wall_s']:>8.1f} {m['p50_ms']:>8.3f} {m['rows_per_s']:>10,.0f}  "
              f"{chosen}")
    base = medians["tfidf+logistic"]
    for name in ("lepton-ai", "lepton accuracy"):
        ours = medians[name]
        print(f"# {name} vs baseline: accuracy {ours['metric'] - base['metric']:+.4f}, one-row latency "
              f"x{ours['p50_ms'] / base['p50_ms']:.2f}, "
              f"batch throughput x{ours['rows_per_s'] / base['rows_per_s']:.2f}")


if __name__ == "__main__":
    main()
