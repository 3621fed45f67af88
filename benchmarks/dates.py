"""Date columns read as calendar features vs the same column kept as a category (what a date string
was before dates were detected: a category, or dropped as id-like when every row's value differs).

Each table is made here (nobody tuned anything on it): orders with a date-time column in a format
of its own per table, a category and numbers; the label depends on the weekday, the season, the
hour and a trend, plus the other columns, with noise. For each, ``LeptonModel`` trains twice with
the same budget and seed: once as the table is, once with the date column given the pandas
``category`` dtype. Both are scored on the same held-out rows (R² or accuracy), and the one-row
preparation of a record is timed for both (median of repeats, with the spread), since reading
dates costs time on every prediction. Every figure comes from this one run.

    python benchmarks/dates.py [--budget 15] [--seeds 0,1,2]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import seeded_comparison_args, settle  # noqa: E402

_FORMATS = ("%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%b %d, %Y %H:%M")


def make_table(seed: int, n: int = 6_000) -> tuple[pd.DataFrame, str, str]:
    """Orders over about three years; returns the frame, the label column and the task."""
    rng = np.random.default_rng(seed)
    stamps = pd.DatetimeIndex(pd.Timestamp("2021-01-01")
                              + pd.to_timedelta(rng.integers(0, 3 * 365 * 24 * 60, n), unit="min"))
    store = rng.choice(["north", "south", "east", "west"], size=n)
    x = rng.normal(size=(n, 3))
    weekend = (stamps.day_of_week >= 5).astype(float)
    season = np.sin(2 * np.pi * (stamps.day_of_year.to_numpy() / 365.25 + 0.1 * seed))
    evening = ((stamps.hour >= 17) & (stamps.hour <= 21)).astype(float)
    trend = (stamps - stamps.min()).days.to_numpy() / 365.0
    signal = (1.5 * weekend + season + 0.8 * evening + 0.5 * trend + 0.6 * x[:, 0] + 0.3 * (store == "east")
              + rng.normal(scale=0.5, size=n))
    frame = pd.DataFrame(x, columns=["x0", "x1", "x2"]).assign(store=store,
                                                                 ordered=stamps.strftime(_FORMATS[seed % 3]))
    if seed % 2:
        return frame.assign(busy=np.where(signal > np.median(signal), "yes", "no")), "busy", "classification"
    return frame.assign(sales=signal.round(3)), "sales", "regression"


def _prepare_us(model, record: dict, repeats: int = 7, calls: int = 300) -> tuple[float, float, float]:
    """Median (min, max) microseconds of one record's preparation in the chosen model's view."""
    preparer = model.result_.preparer
    view = "codes" if model.chosen.family.startswith("gbdt") else "dense"
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            preparer.transform(record, view)
        times.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(times), min(times), max(times)


def main() -> None:
    budget, seeds = seeded_comparison_args(__doc__)
    from lepton_ai import LeptonModel, SinglePointTechnique

    gains = []
    for seed in seeds:
        frame, label, task = make_table(seed)
        test = frame.sample(frac=0.25, random_state=seed)
        train = frame.drop(test.index)
        results = {}
        for how in ("calendar features", "category"):
            as_given = (lambda f: f) if how == "calendar features" else (lambda f: f.astype({"ordered": "category"}))
            settle()
            with tempfile.TemporaryDirectory(prefix="lepton-dates-") as home, warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                model = LeptonModel(budget=f"{budget}s", seed=0, verbose=0,
                                    engine=SinglePointTechnique(home=home)).train(as_given(train), label=label)
                record = as_given(test).drop(columns=label).iloc[0].to_dict()
                kinds = {c.name: c.kind for c in model.schema.columns}
                results[how] = (model.test(as_given(test)), kinds.get("ordered", "dropped"),
                                model.chosen.trial_id, model.chosen.family, _prepare_us(model, record))
        (calendar, kind_c, id_c, family_c, us_c), (category, kind_k, id_k, family_k, us_k) = (
            results["calendar features"], results["category"])
        gains.append(calendar - category)
        metric = "R2" if task == "regression" else "accuracy"
        print(f"table seed {seed} ({task}, dates as {_FORMATS[seed % 3]!r}, {len(train)} train / {len(test)} test "
              f"rows): test {metric} with calendar features {calendar:.4f} ({kind_c}; {id_c} {family_c}), with the "
              f"column as a category {category:.4f} ({kind_k}; {id_k} {family_k}); gain {calendar - category:+.4f}. "
              f"One record's preparation: {us_c[0]:.1f} us ({us_c[1]:.1f}-{us_c[2]:.1f}) vs {us_k[0]:.1f} us "
              f"({us_k[1]:.1f}-{us_k[2]:.1f}), {us_c[0] / us_k[0]:.2f}x")
    print(f"median gain of calendar features over the category at {budget}s: {statistics.median(gains):+.4f} "
          f"(range {min(gains):+.4f} .. {max(gains):+.4f})")


if __name__ == "__main__":
    main()
