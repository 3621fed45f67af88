"""Cross-validated trials: out-of-fold outputs come from models that never saw the row, in fitting
or in early stopping, and what ensemble selection reads is exactly those outputs."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from lepton_ai.engine.ensemble import DEV_OUTPUTS
from lepton_ai.engine.folds import early_stopping_split, fit_out_of_fold
from lepton_ai.engine.technique import SinglePointTechnique
from lepton_ai.features.prepared import Prepared
from lepton_ai.models.base import Budget, Cost, Domain, FitReport, ModelFamily
from lepton_ai.models.registry import FAMILIES


class Memoriser(ModelFamily):
    """Remembers the label of every row it is shown, to fit or to stop early on, and predicts it
    with certainty for those rows; every other row gets the uniform distribution. Its outputs show
    which rows a model saw: any certain output on a ranking row is a leak."""

    name = "memoriser"
    length_param = "rounds"
    stops_on: ClassVar[list[int]] = []  # early-stopping rows handed to each fit

    def __init__(self, *, rounds: int = 3) -> None:
        self.rounds = rounds

    def fit(self, train: Prepared, dev: Prepared | None = None, *, budget: Budget | None = None) -> Memoriser:
        self._set_task(train)
        self.seen_ = {row.tobytes(): int(label) for row, label in zip(train.X, train.y, strict=True)}
        if dev is not None:
            self.seen_.update({row.tobytes(): int(label) for row, label in zip(dev.X, dev.y, strict=True)})
        Memoriser.stops_on.append(0 if dev is None else len(dev.X))
        return self

    def _raw_predict(self, X: np.ndarray) -> np.ndarray:
        out = np.full((len(X), self.n_classes_), 1.0 / self.n_classes_)
        for i, row in enumerate(np.asarray(X, dtype=np.float32)):
            label = self.seen_.get(row.tobytes())
            if label is not None:
                out[i] = 0.0
                out[i, label] = 1.0
        return out

    def fit_report(self) -> FitReport:
        return FitReport(length=self.rounds)

    def estimate_cost(self, n_rows: int, n_features: int) -> Cost:
        return Cost(fit_seconds=0.001, predict_ms_per_row=0.001, memory_bytes=1)

    @classmethod
    def search_space(cls, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {}

    @classmethod
    def starting_points(cls, n_rows: int, n_features: int) -> list[dict[str, Any]]:
        return [{}]

    def _save_weights(self, directory):
        path = directory / "seen.npy"
        keys = np.array([np.frombuffer(k, dtype=np.float32) for k in self.seen_])
        np.save(path, np.column_stack([keys, list(self.seen_.values())]), allow_pickle=False)
        return [path]

    def _load_weights(self, directory, state):
        table = np.load(directory / "seen.npy", allow_pickle=False)
        self.seen_ = {row[:-1].astype(np.float32).tobytes(): int(row[-1]) for row in table}


@pytest.fixture
def memoriser(monkeypatch):
    monkeypatch.setitem(FAMILIES, "memoriser", Memoriser)
    Memoriser.stops_on.clear()
    return Memoriser


def _prepared(n: int, seed: int = 0) -> Prepared:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    return Prepared(X=X, y=(X[:, 0] > 0).astype(np.int64), task="classification", n_classes=2)


def test_out_of_fold_outputs_come_from_models_that_never_saw_the_row(memoriser):
    train, dev = _prepared(120), _prepared(30, seed=1)
    oof = fit_out_of_fold("memoriser", {}, train, dev, 5, Budget(seed=0))
    assert oof.output.shape == (150, 2) and np.array_equal(oof.y, np.concatenate([train.y, dev.y]))
    # Every fold had early-stopping rows of its own, and not one out-of-fold output is certain:
    # no row was predicted by a model that fitted on it or stopped on it.
    assert len(memoriser.stops_on) == 5 and all(n > 0 for n in memoriser.stops_on)
    np.testing.assert_allclose(oof.output, 0.5)
    assert oof.fold_lengths == [3] * 5 and oof.report.length == 3


def test_a_trial_ranked_on_dev_stops_early_on_rows_of_its_own(memoriser):
    train, dev = _prepared(100), _prepared(40, seed=1)
    fit_on, stop_on = early_stopping_split("memoriser", train, dev, seed=0)
    assert len(fit_on.X) + len(stop_on.X) == 100 and len(stop_on.X) == 15  # 15% of train, none of dev
    dev_rows = {row.tobytes() for row in dev.X}
    assert not dev_rows & {row.tobytes() for row in stop_on.X}
    # A family that does not stop early fits on all of train.
    assert early_stopping_split("linear", train, dev, seed=0) == (train, dev)


@pytest.mark.parametrize("with_dev", [False, True])
def test_what_ensemble_selection_reads_never_saw_a_members_early_stopping_rows(tmp_path, memoriser, with_dev):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
    frame["y"] = np.where(frame["a"] + 0.3 * rng.normal(size=200) > 0, "yes", "no")
    engine = SinglePointTechnique(budget="30s", families="linear,memoriser", max_trials=2, refit=False,
                                  cluster="inline", home=tmp_path)
    dev = frame.iloc[150:] if with_dev else None
    result = engine.search(frame.iloc[:150] if with_dev else frame, dev, label="y")
    assert result.extra["validation"]["folds"] == (0 if with_dev else 5)
    trial = next(t for t in result.trials if t.family == "memoriser")
    linear = next(t for t in result.trials if t.family == "linear")
    # The memoriser is right on every row it saw; ranked on rows it saw it would score 1.0.
    assert trial.dev_metric is not None and trial.dev_metric < 0.7 < linear.dev_metric
    saved = np.load(tmp_path / "runs" / result.run_id / DEV_OUTPUTS / f"{trial.trial_id}.npy")
    assert len(saved) == (50 if with_dev else 200)
    np.testing.assert_allclose(saved, 0.5)  # the outputs the ensemble weights are chosen on
    assert all(n > 0 for n in memoriser.stops_on)  # it was given early-stopping rows every time
