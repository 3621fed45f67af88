"""``LeptonModel``: the façade over load → prepare → search → select → predict → save."""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from .compress.apply import compress_after_search, has_variants
from .data.coerce import to_input
from .data.dataset import Dataset, Records, Schema
from .data.load import DataSource
from .data.weights import with_weights
from .engine.callbacks import Callback
from .engine.result import SearchResult, decode_output
from .engine.technique import SinglePointTechnique
from .errors import ConfigError, DataError, NotBuiltError, NotFittedError, TrialError
from .features.labels import encode_labels
from .models.metrics import (
    METRICS,
    Metric,
    classification_report,
    default_metric,
    primary_metric,
    primary_metric_name,
    regression_report,
    resolve_metric,
)
from .search.config import SearchConfig, merge_search_options
from .search.frontier import check_objective, select_trial
from .search.leaderboard import leaderboard_frame
from .search.trial import TrialResult
from .store import StoredModel, load_result, save_result

__all__ = ["LeptonModel", "save_model", "load_model"]


class _Limits(TypedDict):
    """The hard limits a trial is chosen under; ``None`` is no limit."""

    max_latency_ms: float | None
    max_model_mb: float | None
    min_metric: float | None


class LeptonModel:
    """Train candidates on this node, keep them all measured, and predict with the chosen one.

    ``objective`` picks from the frontier (``balanced``, ``accuracy``, ``speed``, ``cost``);
    ``budget`` is seconds (``"60s"``, ``"5m"``) or dollars (``"$0.01"``); the limits
    ``max_latency_ms``, ``max_model_mb`` and ``min_metric`` are hard constraints on the choice;
    ``max_trials`` caps the search. ``cluster`` runs the trials on a Dask scheduler
    (``"tcp://host:8786"``) instead of this node; ``store`` is the run store (a SQLAlchemy URL such as
    ``"postgresql+psycopg://user@host/db"`` that several machines share, or a SQLite file; default
    ``$LEPTON_STORE``, else ``$LEPTON_HOME/runs.sqlite``), ``cache`` the cache of prepared features
    and trained models several machines share (a Redis URL, default ``$LEPTON_CACHE``; none: the
    local folder). ``memory`` (bytes or ``"4GB"``; default: what the machine has free) bounds the
    whole search: a Parquet table bigger than it allows is sampled for the search and streamed to the
    final fit of the families that learn in batches (the others are left out, with a warning).
    ``metric`` is what ranks, ensembles and selects the candidates and what ``test`` returns: a name
    (classification: ``accuracy`` (default), ``balanced_accuracy``, ``f1`` (the second class of two is
    the positive one; macro on more), ``f1_macro``, ``f1_weighted``, ``precision``, ``recall``, ``mcc``,
    ``roc_auc``, ``log_loss``; regression: ``r2`` (default), ``rmse``, ``mse``, ``mae``, ``mape``,
    ``median_ae``) or a ``make_metric(function, greater_is_better=...)`` of your own. Scores are
    higher-is-better: losses are negated (``dev rmse -3.2``), as scikit-learn's scorers do.
    ``deterministic=True`` trains every candidate to
    its epoch and tree counts instead of wall-clock deadlines, so the same data, seed and threads
    give byte-identical models (the manifest's ``run.extra.mode`` says which mode made a model).
    Everything that takes data accepts a Dataset, a file path, a DataFrame or arrays; ``predict``,
    ``predict_proba``, ``test`` and ``evaluate`` also take a record (``dict`` of column name →
    value), a list of records, or an Arrow Table or RecordBatch.

    ``engine`` runs the search (default: a ``SinglePointTechnique`` with this node's defaults).
    The search options (``budget``, ``families``, ``seed``, ``max_trials``, and ``epochs`` of
    ``train``) may be given here or on the engine: each is taken from where it was given, the
    default (60 s, every family that fits, seed 0) where neither gives it, and one given in both
    places with different values is a ``ConfigError`` naming both
    (:func:`lepton_ai.search.config.merge_search_options`).
    """

    def __init__(
        self,
        objective: str = "balanced",
        budget: str | float | None = None,
        *,
        families: str | Sequence[str] | None = None,
        engine: SinglePointTechnique | None = None,
        task: str | None = None,
        label: str | None = None,
        seed: int | None = None,
        max_latency_ms: float | None = None,
        max_model_mb: float | None = None,
        min_metric: float | None = None,
        max_trials: int | None = None,
        cluster: str | None = None,
        store: str | Path | None = None,
        cache: str | None = None,
        memory: int | str | None = None,
        metric: str | Metric | None = None,
        deterministic: bool | None = None,
        verbose: int = 1,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.objective = check_objective(objective)
        self.budget = budget
        self.families = families
        self.engine = engine
        self.task = task
        self.label = label
        self.seed = seed
        self.deterministic = deterministic
        self.limits: _Limits = {"max_latency_ms": max_latency_ms, "max_model_mb": max_model_mb,
                                "min_metric": min_metric}
        self.max_trials = max_trials
        self.cluster = cluster
        self.store = store
        self.cache = cache
        self.memory = memory
        self.metric = metric
        self.verbose = verbose
        self.callbacks = list(callbacks)
        self.result_: SearchResult | None = None
        self.chosen_: str | None = None

    # ---- training ------------------------------------------------------------------------
    def train(self, train: DataSource, dev: DataSource | None = None, *, epochs: int | None = None,
              label: str | None = None, weight: str | Any = None,
              id: str | None = None) -> LeptonModel:  # noqa: A002 - the name users pass, as the CLI's --id
        """Search candidates on ``train`` (``dev`` ranks them; split from train when omitted).

        ``epochs`` caps the epochs of neural families. ``weight``: sample weights, the name of a
        column of ``train`` (and of ``dev``) or one number per row of ``train``; every family fits
        with them and every score is weighted by them (see ``data.weights``). ``id``: the column that
        names each row (unique, never missing): kept out of the features, and carried into
        :meth:`predictions` and the server's responses. Returns ``self``.
        """
        engine = self._engine()
        config = self._search_config(engine, epochs)
        label = self._label(label)
        train = self._record_training(train, dev, epochs, label, engine.memory_limit, weight, id)
        callbacks = self._with_progress(engine)
        started = time.monotonic()
        try:
            self.result_ = engine.search(train, dev, config, label=label, task=self.task, callbacks=callbacks,
                                         weight=weight if isinstance(weight, str) else None)
        finally:
            _stop_progress(callbacks)
        plan = self.result_.plan
        assert plan is not None, "a search just run records its budget plan"
        # Frontier models get their compressed variants (measured, on the frontier too) in the slice
        # of the budget the search left for them.
        compress_after_search(self.result_, engine.cache, deadline=started + plan.total_s, callbacks=callbacks,
                              log=(lambda line: print(f"lepton: {line}", file=sys.stderr)) if self.verbose else None,
                              metric=self._metric())
        return self._choose()

    def _engine(self) -> SinglePointTechnique:
        """``engine``, or one made with ``cluster``, ``store``, ``cache`` and ``memory`` (which are the
        engine's: not both)."""
        if self.engine is None:
            return SinglePointTechnique(cluster=self.cluster, store=self.store, cache=self.cache, memory=self.memory)
        for name in ("cluster", "store", "cache", "memory"):
            if getattr(self, name) is not None:
                raise ConfigError(f"{name}= is the engine's: give it to SinglePointTechnique({name}=...), not to "
                                  "LeptonModel together with engine=.")
        return self.engine

    def _search_config(self, engine: SinglePointTechnique, epochs: int | None) -> SearchConfig:
        """The search ``train`` runs: this model's options and the engine's, merged by the one rule
        (:func:`~lepton_ai.search.config.merge_search_options`), keeping the compression slice of
        the budget back when a family to search has compressed variants."""
        mine = {"budget": self.budget, "families": self.families, "seed": self.seed, "max_trials": self.max_trials,
                "epochs": epochs, "deterministic": self.deterministic, "metric": self.metric}
        config = merge_search_options({"LeptonModel": mine, "SinglePointTechnique": engine.search_options})
        return config.with_options(compress=has_variants(config.families))

    def _label(self, label: str | None) -> str | None:
        """The label column: given to ``train`` or to the model, not both with different names."""
        if label is not None and self.label is not None and label != self.label:
            raise ConfigError(f"label is given twice with different values: LeptonModel(label={self.label!r}) and "
                              f"train(label={label!r}). Give it in one place.")
        return label if label is not None else self.label

    def resume(self, run_id: str, *, engine: SinglePointTechnique | None = None) -> LeptonModel:
        """Finish the run ``run_id`` from the run store (after a kill) and choose from all its trials."""
        if engine is not None and self.engine is not None and engine is not self.engine:
            raise ConfigError("resume was given an engine, and this LeptonModel has its own (engine=...); give one.")
        if engine is None:
            engine = self._engine()
        self.chosen_ = None
        callbacks = self._with_progress(engine)
        try:
            metric = METRICS.get(self.metric) if isinstance(self.metric, str) else self.metric
            self.result_ = engine.resume(run_id, callbacks=callbacks, metric=metric)
        finally:
            _stop_progress(callbacks)
        return self._choose()

    def _choose(self) -> LeptonModel:
        assert self.result_ is not None
        if not any(t.ok for t in self.result_.trials):
            raise TrialError(_no_candidate_message(self.result_.trials))
        self.chosen_ = select_trial(_choosable(self.result_, self.result_.trials), self.objective,
                                    noise=self._noise(), **self.limits).trial_id
        return self

    def select(self, objective: str | None = None, *, max_latency_ms: float | None = None,
               max_model_mb: float | None = None, min_metric: float | None = None) -> LeptonModel:
        """Choose another trial along the frontier without retraining; returns ``self``."""
        result = self._fitted()
        objective = check_objective(objective or self.objective)
        kept = _choosable(result, [t for t in result.trials if t.trial_id in result.models])
        chosen = select_trial(kept, objective, max_latency_ms=max_latency_ms, max_model_mb=max_model_mb,
                              min_metric=min_metric, noise=self._noise())
        self.objective, self.chosen_ = objective, chosen.trial_id
        self.limits = {"max_latency_ms": max_latency_ms, "max_model_mb": max_model_mb, "min_metric": min_metric}
        return self

    # ---- predicting ----------------------------------------------------------------------
    def predict_proba(self, data: DataSource, *, unseen: dict[str, int] | None = None) -> np.ndarray:
        """Class probabilities ``(n_rows, n_classes)``, columns in the order of ``classes_``.

        A category not seen in training is predicted as a missing value. ``unseen``, when given,
        receives per categorical column how many values were such categories (added to what it
        holds); without it, a ``UserWarning`` names the columns and counts when there were any.
        """
        result = self._fitted()
        if result.schema.task != "classification":
            raise ConfigError("predict_proba is for classification; this model does regression. Use predict.")
        return self._output(self._input(data), unseen)

    def predict(self, data: DataSource, *, unseen: dict[str, int] | None = None) -> np.ndarray:
        """Labels (classification) or values (regression), one per input row; ``unseen``: see
        :meth:`predict_proba`."""
        return self.labels(self._output(self._input(data), unseen))

    def predictions(self, data: DataSource, *, proba: bool = False,
                    unseen: dict[str, int] | None = None) -> pd.DataFrame:
        """Predictions as a table to join back: the rows' id (the ``id=`` column the model was trained
        with, when ``data`` holds it; for image files, ``path``), ``prediction``, and with ``proba``
        one ``proba_<class>`` column per class. What ``lepton predict`` writes."""
        dataset = self._input(data)
        output = self._output(dataset, unseen)
        schema = self.schema
        frame = pd.DataFrame(index=pd.RangeIndex(len(output)))
        if dataset.ids is not None:
            frame[schema.id_column or "path"] = dataset.ids
        frame["prediction"] = self.labels(output)
        if proba:
            if schema.task != "classification":
                raise ConfigError("proba is for classification; this model does regression.")
            for j, name in enumerate(schema.classes):
                frame[f"proba_{name}"] = output[:, j]
        return frame

    def labels(self, output: np.ndarray) -> np.ndarray:
        """What ``predict`` returns for the chosen model's outputs (``predict_proba``'s probabilities, or
        values): the most probable class, or on a binary task ranked by a metric you gave, the positive
        class wherever its probability reaches the threshold tuned for that metric (``chosen.threshold``)."""
        schema = self._fitted().schema
        # Only a binary model has a threshold: other calls skip looking the chosen trial up (a hot path).
        threshold = self.chosen.threshold if schema.task == "classification" and len(schema.classes) == 2 else None
        return decode_output(np.asarray(output), schema, threshold)

    def test(self, data: DataSource, *, weight: str | Any = None) -> float:
        """The metric the model was chosen by (``metric``; default accuracy, or R² for regression) on
        labelled ``data``, higher is better: a loss such as ``rmse`` is negated, as it ranked the trials.
        ``weight``: sample weights (a column of ``data`` or one per row) the score is weighted by; a
        split ``load_data(..., weight=)`` made carries its own."""
        dataset, y = self._labelled(data, weight)
        output = self._fitted().output(dataset, self._chosen_id())
        if self._metric().name == primary_metric_name(self.schema.task) and self.chosen.threshold is None:
            return primary_metric(self.schema.task, y, output, dataset.weight)
        return self._score(y, output, dataset.weight)

    def evaluate(self, data: DataSource, *, weight: str | Any = None) -> dict[str, Any]:
        """All metrics on labelled ``data`` (weighted by ``weight``, as in :meth:`test`; then the report
        says ``weighted``): see ``models.metrics`` for the keys.

        Rows whose class never occurred in training cannot be predicted right: ``test`` counts
        them as errors, ``evaluate`` leaves them out of its metrics and reports how many there were
        (``n_rows_unseen_label``). ``unseen_categories``: per categorical column, how many values
        were categories not seen in training (predicted as missing values).
        """
        dataset, y = self._labelled(data, weight)
        unseen = dict.fromkeys(self._fitted().preparer.plan().categorical, 0)
        output = self._fitted().output(dataset, self._chosen_id(), unseen=unseen)
        w = dataset.weight
        if self.schema.task == "classification":
            seen = y >= 0
            report = classification_report(y[seen], output[seen], list(self.schema.classes), self.chosen.threshold,
                                           None if w is None else w[seen])
            report["n_rows_unseen_label"] = int((~seen).sum())
        else:
            report = regression_report(y, output, w)
        report["unseen_categories"] = unseen
        metric = self._metric()
        if metric.name not in report:
            score = self._score(y, output, w)
            report[metric.name] = score if metric.greater_is_better else -score
        report["metric"] = metric.name
        if self.chosen.threshold is not None:
            report["threshold"] = self.chosen.threshold
        report["model"] = self.chosen.family
        report["trial"] = self.chosen.trial_id
        return report

    def feature_importance(self, data: DataSource, *, repeats: int = 5, seed: int = 0,
                           max_rows: int = 5_000) -> pd.DataFrame:
        """How much each raw input column matters to the chosen model, on labelled ``data``.

        Permutation importance (scikit-learn's ``permutation_importance``): the drop in the metric
        the model was chosen by (see ``test``) when one column's values are shuffled among the
        rows, ``repeats`` times; the whole path runs as ``predict`` does (preparation included), so
        a column the preparation expands (one-hot, words) counts as one. One row per feature column,
        largest mean drop first: ``column``, ``importance`` (mean), ``std``; ``attrs["metric"]`` and
        ``attrs["baseline"]`` say what dropped from what. At most ``max_rows`` rows (a seeded sample).
        """
        from sklearn.inspection import permutation_importance

        if not isinstance(repeats, int) or repeats < 1:
            raise ConfigError(f"repeats must be an int >= 1. Got {repeats!r}.")
        result, schema = self._fitted(), self.schema
        if schema.modality not in ("tabular", "text"):
            raise NotBuiltError("feature_importance is built for tables; images and sequences have no columns to "
                                "shuffle.")
        dataset, y = self._labelled(data)
        given: Any = dataset.X
        if isinstance(given, Records):
            given = pd.DataFrame.from_records(given.rows)
        elif not isinstance(given, pd.DataFrame):  # an Arrow table or batch
            given = given.to_pandas()
        frame, weight = given[schema.feature_names].reset_index(drop=True), dataset.weight
        if len(frame) > max_rows:
            keep = np.sort(np.random.default_rng(seed).choice(len(frame), max_rows, replace=False))
            frame, y = frame.iloc[keep].reset_index(drop=True), y[keep]
            weight = None if weight is None else weight[keep]
        metric, chosen = self._metric(), self._chosen_id()

        def score(_: Any, X: pd.DataFrame, y_true: np.ndarray) -> float:
            return self._score(y_true, result.output(Dataset(X=X, y=None, schema=schema, source="importance"), chosen,
                                                     unseen={}), weight)

        found = permutation_importance(_Fitted(), frame, y, scoring=score, n_repeats=repeats, random_state=seed)
        table = pd.DataFrame({"column": schema.feature_names, "importance": found.importances_mean,
                              "std": found.importances_std})
        table = table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
        table.attrs.update(metric=metric.name, baseline=score(None, frame, y), rows=len(frame), repeats=repeats)
        return table

    # ---- looking at the search -------------------------------------------------------------
    def leaderboard(self) -> pd.DataFrame:
        """One row per trial, best dev metric first; ``frontier`` and ``chosen`` mark rows."""
        return leaderboard_frame(self._fitted().trials, self.chosen_)

    def frontier(self) -> pd.DataFrame:
        """The Pareto-optimal rows of the leaderboard (metric ↑, inference cost ↓, training cost ↓)."""
        board = self.leaderboard()
        return board[board["frontier"]].reset_index(drop=True)

    def report(self, path: str | Path = "report.html", data: DataSource | None = None) -> Path:
        """Write a self-contained ``report.html`` to ``path`` and return the path.

        It shows the training data, the leaderboard, the frontier plot, learning curves of neural
        trials, the machine and the call that reproduces the run; labelled ``data`` (say, the test
        split) adds the confusion matrix and per-class scores, or residual plots for regression.
        Works after a search whose trials all failed, and says why they failed.
        """
        from .report.html import write_report

        if self.result_ is None:
            raise NotFittedError("this LeptonModel is not trained yet; call train(...) before report(...).")
        return write_report(path, self, data=data)

    def export_onnx(self, path: str | Path, *, trial: str | None = None) -> Path:
        """Write one ONNX model from the raw columns to probabilities or values (``lepton export``).

        Its inputs are the table's feature columns, one ``(n, 1)`` tensor each: ``double`` for numbers
        and booleans (0/1; NaN where missing), ``string`` for categories (``""`` where missing). Its
        output is ``probabilities`` (float32, columns in the order of ``classes_``) or ``values``;
        the metadata keys ``lepton.*`` list the inputs and classes (and ``lepton.threshold``, a tuned
        decision threshold: the second class where its probability reaches it). Built for the linear, gbdt and
        neural families on tables, their ensembles and ONNX/fast-tree variants: ``trial`` picks
        another trial than the chosen one. Written through a temporary file and a rename.
        """
        from ._version import __version__
        from .compress.raw_onnx import raw_onnx
        from .files import atomic_write_bytes

        result = self._fitted()
        trial_id = trial or self._chosen_id()
        data = raw_onnx(result.preparer, result.models, trial_id, producer_version=__version__,
                        threshold=result.trial(trial_id).threshold)
        target = Path(path)
        atomic_write_bytes(target, data)
        return target

    @property
    def chosen(self) -> TrialResult:
        """The trial whose model predicts."""
        return self._fitted().trial(self._chosen_id())

    @property
    def schema(self) -> Schema:
        return self._fitted().schema

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(self.schema.classes)

    def __repr__(self) -> str:
        if self.result_ is None:
            return f"LeptonModel(objective={self.objective!r}, budget={self.budget!r}) [not trained]"
        t = self.chosen
        return (f"LeptonModel(objective={self.objective!r}) [{self.schema.task}, chosen {t.trial_id} "
                f"{t.family}: {t.metric_name}={t.dev_metric:.4f}, p50={t.latency_p50_ms:.3f} ms]")

    # ---- internals -------------------------------------------------------------------------
    def _record_training(self, train: DataSource, dev: DataSource | None, epochs: int | None,
                         label: str | None, memory: int | None, weight: str | Any = None,
                         id: str | None = None) -> Dataset:  # noqa: A002
        """Read ``train`` once (sampled when bigger than ``memory`` allows), and keep its summary and this
        call for ``report``."""
        from .data.load import build_dataset
        from .report.summary import summarize_dataset

        dataset = build_dataset(train, label, task=self.task, memory=memory, seed=self.seed or 0, weight=weight,
                                id=id)
        self.chosen_ = None
        self.data_summary_ = summarize_dataset(dataset)
        model_args = {"objective": self.objective, "budget": self.budget, "families": self.families,
                      "task": self.task, "seed": self.seed, "max_trials": self.max_trials,
                      **{k: v for k, v in self.limits.items() if v is not None}}
        if dev is None or isinstance(dev, (str, Path)):
            dev_source = dev if dev is None else str(dev)
        else:
            dev_source = str(getattr(dev, "source", type(dev).__name__))
        self.train_call_ = (model_args, {"train": dataset.source, "dev": dev_source,
                                         "label": dataset.schema.label, "epochs": epochs})
        return dataset

    def _with_progress(self, engine: SinglePointTechnique) -> list[Callback]:
        """The user's callbacks and the progress display that ``verbose`` asks for."""
        from .report.progress import progress_callback

        progress = progress_callback(self.verbose, engine.dollars_per_second)
        return [*self.callbacks, *([progress] if progress is not None else [])]

    def _fitted(self) -> SearchResult:
        if self.result_ is None:
            raise NotFittedError("this LeptonModel is not trained yet; call train(...) first.")
        return self.result_

    def _noise(self) -> float:
        result = self._fitted()
        best = max((t.dev_metric for t in result.trials if t.ok and t.dev_metric is not None), default=0.0)
        return self._metric().noise(best, int(result.extra.get("n_rank") or result.extra.get("n_dev") or 0))

    def _score(self, y: np.ndarray, output: np.ndarray, weight: np.ndarray | None = None) -> float:
        """The chosen model's score by its metric and threshold on rows whose label it can know (a
        class never seen in training, -1, is left out; so is a missing value), weighted by ``weight``."""
        seen = y >= 0 if self.schema.task == "classification" else np.isfinite(y)
        return self._metric().score(self.schema.task, y[seen], output[seen], self.chosen.threshold,
                                    weight=None if weight is None else weight[seen])

    def _metric(self) -> Metric:
        """The metric the model was chosen by: ``metric`` (a name or ``make_metric``), else the one its
        search recorded, else the task's default."""
        task = self._fitted().schema.task
        if self.metric is not None:
            return resolve_metric(self.metric, task)
        return METRICS.get(str(self._fitted().extra.get("metric")), default_metric(task))

    def _chosen_id(self) -> str:
        assert self.chosen_ is not None
        return self.chosen_

    def _input(self, data: DataSource) -> Dataset:
        return to_input(data, self._fitted().schema)

    def _output(self, dataset: Dataset, unseen: dict[str, int] | None) -> np.ndarray:
        counts: dict[str, int] = {} if unseen is None else unseen
        output = self._fitted().output(dataset, self._chosen_id(), unseen=counts)
        if unseen is None and any(counts.values()):
            found = ", ".join(f"{name}: {n} value{'s' if n != 1 else ''}" for name, n in counts.items() if n)
            warnings.warn(f"{dataset.source}: categories not seen in training, predicted as missing values "
                          f"({found}).", UserWarning, stacklevel=3)
        return output

    def _labelled(self, data: DataSource, weight: str | Any = None) -> tuple[Dataset, np.ndarray]:
        dataset = with_weights(self._input(data), weight)
        schema = self.schema
        if dataset.y is None:
            raise DataError(f"{dataset.source}: no labels to score against (expected column {schema.label!r}).")
        y = encode_labels(dataset.y, schema)
        # For classes, -1 marks a class never seen in training: kept, and scored as wrong.
        keep = np.asarray([v is not None for v in dataset.y]) if schema.task == "classification" else ~np.isnan(y)
        if not keep.any():
            raise DataError(f"{dataset.source}: no row has a usable label.")
        if not keep.all():
            dataset = dataset.subset(np.flatnonzero(keep))
            y = y[keep]
        return dataset, y


_FAILURES_SHOWN = 5


def _no_candidate_message(trials: Sequence[TrialResult]) -> str:
    """Why no candidate is left to choose: each failed trial's family and error (the first few)."""
    if not trials:
        return "no candidate finished training: no trial ran. Give a larger budget."
    causes = [f"{t.trial_id} {t.family}: {t.error or t.status}" for t in trials[:_FAILURES_SHOWN]]
    more = f"; and {len(trials) - _FAILURES_SHOWN} more" if len(trials) > _FAILURES_SHOWN else ""
    return f"no candidate finished training ({len(trials)} trial(s), none ok). " + "; ".join(causes) + more + "."


def _stop_progress(callbacks: Sequence[Callback]) -> None:
    """Stop a live progress display, also when the search was interrupted (Ctrl-C, an error)."""
    from .report.progress import ProgressView

    for cb in callbacks:
        if isinstance(cb, ProgressView):
            cb.close()


def save_model(path: str | Path, model: Any) -> Path:
    """Save a trained ``LeptonModel`` (or fitted ``LeptonAI``) to the directory ``path``, atomically.

    The chosen model and every frontier model are kept, so ``select`` still works after loading.
    """
    inner = getattr(model, "model_", model)
    if not isinstance(inner, LeptonModel) or inner.result_ is None:
        raise ConfigError(f"save_model needs a trained LeptonModel or fitted LeptonAI, got {type(model).__name__}.")
    return save_result(path, StoredModel(result=inner.result_, chosen=inner._chosen_id(), objective=inner.objective))


def load_model(path: str | Path) -> LeptonModel:
    """Load a model directory written by :func:`save_model`, verifying every file's SHA-256."""
    stored = load_result(path)
    model = LeptonModel(objective=stored.objective, verbose=0)
    model.result_ = stored.result
    model.chosen_ = stored.chosen
    return model


class _Fitted:
    """What scikit-learn's ``permutation_importance`` takes as the model: an object with ``fit``. The
    scorer given with it predicts with the chosen model, so nothing here is ever fitted."""

    def fit(self, *args: Any, **kwargs: Any) -> _Fitted:
        raise NotImplementedError("the chosen model is fitted already")


def _choosable(result: SearchResult, trials: list[TrialResult]) -> list[TrialResult]:
    """The trials a choice is made from: on a table bigger than memory, the models whose final fit
    read every row (and their compressed variants) where there are any, not those that saw only the
    search's sample; otherwise all of them."""
    if not result.extra.get("streamed"):
        return trials
    full = {t.trial_id for t in trials if t.extra.get("refit_rows")}
    kept = [t for t in trials if t.trial_id in full or t.params.get("source") in full]
    return kept or trials
