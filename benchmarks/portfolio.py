"""Choose the GBDT family's starting points as a portfolio: the few configurations that, run in
advance on many data sets, cover them best (the idea of AutoGluon's zero-shot portfolio and FLAML's
zero-shot defaults). ``python benchmarks/portfolio.py`` prints the study and the portfolio.

Data sets: generated here (scikit-learn's ``make_classification``, ``make_regression``,
``make_friedman1/2/3``, moons and circles with noise columns, a table with categories), plus the
bundled ``iris`` and ``diabetes``; none of ``../shared/datasets`` (the benchmarks' sets), so the
portfolio is not tuned to what it is judged on. Every candidate configuration is scored on every
set as the engine scores a trial on small data: 5-fold out-of-fold predictions, each fold early
stopping on 15% of its own training rows. Scores are normalised per set (the best configuration
1, the median 0) and the portfolio is built greedily: the configuration with the best mean first,
then each time the one that most raises the mean over sets of the best score so far.

    python benchmarks/portfolio.py [--size 3] [--sets N]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

import numpy as np
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

CANDIDATES = [
    {"learning_rate": lr, "num_leaves": leaves, "min_child_samples": child, "feature_fraction": ff, "lambda_l2": 1.0}
    for lr, leaves, child, ff in itertools.product((0.05, 0.1), (7, 15, 31, 63), (5, 20), (0.7, 1.0))
]


def datasets(seed: int = 0) -> list[tuple[str, np.ndarray, np.ndarray, str]]:
    from sklearn.datasets import (
        load_diabetes,
        load_iris,
        make_circles,
        make_classification,
        make_friedman1,
        make_friedman2,
        make_friedman3,
        make_moons,
        make_regression,
    )

    rng = np.random.default_rng(seed)
    out = []
    for n, f, inf, k in ((300, 10, 4, 2), (1000, 30, 8, 3), (3000, 20, 10, 5), (800, 60, 5, 2), (2000, 12, 6, 4)):
        X, y = make_classification(n_samples=n, n_features=f, n_informative=inf, n_classes=k, n_clusters_per_class=2,
                                   flip_y=0.03, random_state=int(rng.integers(1 << 30)))
        out.append((f"class_n{n}_f{f}_k{k}", X, y, "classification"))
    for n, f in ((500, 10), (2500, 40)):
        X, y = make_regression(n_samples=n, n_features=f, n_informative=f // 3, noise=20.0,
                               random_state=int(rng.integers(1 << 30)))
        out.append((f"reg_n{n}_f{f}", X, y, "regression"))
    for name, maker in (("friedman1", make_friedman1), ("friedman2", make_friedman2), ("friedman3", make_friedman3)):
        X, y = maker(n_samples=1500, noise=0.5 if name == "friedman1" else 0.1, random_state=int(rng.integers(1 << 30)))
        out.append((name, X, y, "regression"))
    for name, maker in (("moons", make_moons), ("circles", make_circles)):
        X, y = maker(n_samples=1200, noise=0.25, random_state=int(rng.integers(1 << 30)))
        X = np.column_stack([X, rng.normal(size=(len(X), 6))])
        out.append((name, X, y, "classification"))
    codes = rng.integers(0, 8, size=(2000, 3))
    effect = rng.normal(size=(3, 8))
    Xc = np.column_stack([codes, rng.normal(size=(2000, 4))])
    logit = sum(effect[j][codes[:, j]] for j in range(3)) + Xc[:, 3]
    out.append(("categories", Xc, (logit + rng.normal(0, 0.7, 2000) > 0).astype(int), "classification"))
    iris = load_iris()
    out.append(("iris", iris.data, iris.target, "classification"))
    diabetes = load_diabetes()
    out.append(("diabetes", diabetes.data, diabetes.target, "regression"))
    return out


def score(params: dict, X: np.ndarray, y: np.ndarray, task: str, seed: int = 0) -> float:
    """5-fold out-of-fold accuracy or R², each fold stopping early on 15% of its training rows."""
    import lightgbm as lgb

    n_classes = len(np.unique(y)) if task == "classification" else 0
    if task == "regression":
        objective = {"objective": "regression"}
    elif n_classes == 2:
        objective = {"objective": "binary"}
    else:
        objective = {"objective": "multiclass", "num_class": n_classes}
    full = {**objective, **params, "verbose": -1, "num_threads": 2, "seed": seed, "deterministic": True,
            "force_row_wise": True, "bagging_freq": 0}
    splitter = StratifiedKFold(5, shuffle=True, random_state=seed) if task == "classification" else \
        KFold(5, shuffle=True, random_state=seed)
    oof = np.zeros((len(y), max(n_classes, 1)))
    for fit_rows, held in splitter.split(X, y):
        stratify = y[fit_rows] if task == "classification" else None
        fit, stop = train_test_split(fit_rows, test_size=0.15, random_state=seed, stratify=stratify)
        booster = lgb.train(full, lgb.Dataset(X[fit], y[fit]), num_boost_round=1000,
                            valid_sets=[lgb.Dataset(X[stop], y[stop])],
                            callbacks=[lgb.early_stopping(50, verbose=False)])
        pred = booster.predict(X[held], num_iteration=booster.best_iteration)
        oof[held] = pred.reshape(len(held), -1) if n_classes > 2 else pred.reshape(len(held), 1)
    if task == "regression":
        return float(r2_score(y, oof[:, 0]))
    labels = oof.argmax(axis=1) if n_classes > 2 else (oof[:, 0] > 0.5).astype(int)
    return float(accuracy_score(y, labels))


def greedy(normalised: np.ndarray, size: int) -> list[int]:
    """Indices of the portfolio: best mean first, then the one raising the mean best-so-far most."""
    chosen = [int(np.argmax(normalised.mean(axis=1)))]
    while len(chosen) < size:
        best_now = normalised[chosen].max(axis=0)
        gains = [np.maximum(best_now, normalised[i]).mean() if i not in chosen else -np.inf
                 for i in range(len(normalised))]
        chosen.append(int(np.argmax(gains)))
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=3)
    parser.add_argument("--sets", type=int, default=None, help="use only the first N sets (a quick look)")
    args = parser.parse_args()
    sets = datasets()[: args.sets]
    started = time.perf_counter()
    scores = np.zeros((len(CANDIDATES), len(sets)))
    for j, (name, X, y, task) in enumerate(sets):
        for i, params in enumerate(CANDIDATES):
            scores[i, j] = score(params, X, y, task)
        print(f"# {name}: best {scores[:, j].max():.4f}, median {np.median(scores[:, j]):.4f}, "
              f"worst {scores[:, j].min():.4f}", flush=True)
    spread = scores.max(axis=0) - np.median(scores, axis=0)
    normalised = (scores - np.median(scores, axis=0)) / np.where(spread > 0, spread, 1.0)
    portfolio = greedy(normalised, args.size)
    print(f"# {len(CANDIDATES)} configurations x {len(sets)} sets in {time.perf_counter() - started:.0f}s")
    covered = normalised[portfolio].max(axis=0).mean()
    for rank, i in enumerate(portfolio, 1):
        print(f"{rank}. {CANDIDATES[i]}  mean normalised score {normalised[i].mean():+.3f}")
    print(f"portfolio covers a mean normalised score of {covered:.3f} (1 = the best configuration on every set)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
