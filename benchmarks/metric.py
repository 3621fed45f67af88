"""The user's metric: F1 of the positive class on imbalanced tables, ranked by accuracy (the default) vs by F1.

Ranked by a metric the user gives, each binary candidate also gets the decision threshold that
scores best by it on the rows it was ranked on; the chosen model predicts with it.

Each table is made here (nobody tuned anything on it): binary, the positive class 5-15% of the
rows, numbers with interactions, a category, missing values. For each, ``LeptonModel`` trains
twice with the same budget and seed, once with the default metric and once with ``metric="f1"``;
both choices are scored on the same held-out test rows by F1 of the positive class (and accuracy).
Every figure comes from this one run.

    python benchmarks/metric.py [--budget 15] [--seeds 0,1,2]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import seeded_comparison_args  # noqa: E402


def make_table(seed: int, n: int = 6_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    positive_share = (0.05, 0.10, 0.15)[seed % 3]
    X = rng.normal(size=(n, 6))
    plan = rng.choice(["basic", "plus", "pro", "team"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    score = (X[:, 0] + 0.7 * X[:, 1] * X[:, 2] - 0.5 * np.abs(X[:, 3]) + (plan == "pro") * 0.6
             + rng.normal(scale=0.9, size=n))
    label = np.where(score > np.quantile(score, 1 - positive_share), "yes", "no")
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)]).assign(plan=plan, churned=label)
    frame.loc[rng.random(n) < 0.05, "x2"] = np.nan
    return frame


def main() -> None:
    budget, seeds = seeded_comparison_args(__doc__)
    from lepton_ai import LeptonModel, SinglePointTechnique

    gains = []
    for seed in seeds:
        frame = make_table(seed)
        test = frame.sample(frac=0.25, random_state=seed)
        train = frame.drop(test.index)
        truth = test["churned"].to_numpy() == "yes"
        scores = {}
        for metric in (None, "f1"):
            with tempfile.TemporaryDirectory(prefix="lepton-metric-") as home, warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                model = LeptonModel(metric=metric, budget=f"{budget}s", seed=0, verbose=0,
                                    engine=SinglePointTechnique(home=home)).train(train, label="churned")
                predicted = model.predict(test) == "yes"
                threshold = model.chosen.threshold
                scores[metric or "accuracy"] = (f1_score(truth, predicted), accuracy_score(truth, predicted),
                                                model.chosen.trial_id, model.chosen.family
                                                + (f", threshold {threshold:.3f}" if threshold is not None else ""))
        (f1_default, acc_default, id_d, fam_d), (f1_f1, acc_f1, id_f, fam_f) = scores["accuracy"], scores["f1"]
        gains.append(f1_f1 - f1_default)
        print(f"table seed {seed} ({truth.mean():.0%} positive, {len(train)} train / {len(test)} test rows): "
              f"test F1 ranked by accuracy {f1_default:.4f} (accuracy {acc_default:.4f}, {id_d} {fam_d}); "
              f"ranked by f1 {f1_f1:.4f} (accuracy {acc_f1:.4f}, {id_f} {fam_f}); gain {f1_f1 - f1_default:+.4f}")
    print(f"median F1 gain of metric='f1' over the default at {budget}s: {statistics.median(gains):+.4f} "
          f"(range {min(gains):+.4f} .. {max(gains):+.4f})")


if __name__ == "__main__":
    main()
