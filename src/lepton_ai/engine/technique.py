"""``SinglePointTechnique``: the engine that searches candidates on this one node.

It knows the node (cores, memory, GPU) and its price, prepares the data once (through the feature
cache), and hands trials from a priority queue to isolated worker processes, each with a share of
the cores and memory, until the budget in seconds or dollars is spent. Every trial is recorded in
the run store as it starts and ends, so a killed run resumes where it stopped (``resume``).
"""

from __future__ import annotations

import os
import shutil
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ..blobs import SharedCache, shared_cache
from ..config import DEFAULT_PRICE_PER_CORE_HOUR, DEFAULT_PRICE_PER_GPU_HOUR, Settings
from ..data.coerce import to_input
from ..data.dataset import Dataset
from ..data.load import SEARCH_SHARE, DataSource, build_dataset
from ..data.split import split_dataset
from ..data.weights import with_weights
from ..errors import ConfigError, NotBuiltError, NotFittedError
from ..features.cache import FeatureCache, PreparedData
from ..features.prepared import joined_labels
from ..memory import available_memory, format_bytes, parse_memory
from ..models.metrics import Metric, resolve_metric
from ..models.registry import families_for_modality, get_family, resolve_families
from ..search.budget import BudgetPlan
from ..search.config import SearchConfig, parse_search_options
from ..search.frontier import select_trial
from ..search.trial import TrialResult
from ..search.validation import DEFAULT_FOLDS, Validation, choose_validation, fold_fit_rows
from .callbacks import Callback, CallbackRunner
from .executor import Executor, InlineExecutor, LocalExecutor
from .loop import LoopSettings, fetch_trial, run_loop
from .resources import detect_resources
from .result import ModelCatalog, SearchResult
from .runstore import RunStore, new_run_id
from .scheduler import PlannedTrial, Scheduler
from .worker_server import WorkerServer, shared_worker_server

__all__ = ["SinglePointTechnique", "DEV_FRACTION", "IMBALANCE_RATIO", "imbalanced"]

# Classes this much apart in weight (the largest over the smallest) are imbalanced: the search also
# tries each family's first configuration with every class weighing the same.
IMBALANCE_RATIO = 3.0

# When no dev set is given, this share of the training rows is held out for early stopping and ranking.
DEV_FRACTION = 0.2
# Fewer training rows than this are not split for a dev set: the dev set is the training set.
MIN_ROWS_TO_SPLIT = 10
# The search defaults, for a run recorded before its patience and refit were stored.
_DEFAULTS = SearchConfig()
# Worker processes may use this share of the node's memory between them.
MEMORY_SHARE = 0.8
# On a table bigger than memory, preparing every row for the final fit may take this share of the
# search's budget; a pass still reading then stops with the rows it has.
STREAM_SHARE = 0.4


class SinglePointTechnique:
    """The node engine: search candidates on this machine within a budget in seconds or dollars.

    The engine owns where and how trials run. ``cores`` defaults to the cores this process may use;
    ``workers`` (default: one per core) trials run at once, each with ``cores // workers`` threads
    and ``memory / workers`` of memory. ``memory`` (bytes or a size such as ``"4GB"``; ``memory_gb``
    says it in GiB) bounds the whole search: its default is what the machine has free when a search
    begins; a Parquet table bigger than that allows is sampled for the search, only families that
    learn from rows in batches are searched on it, and their final fit reads every row
    (:mod:`lepton_ai.data.stream`, :mod:`lepton_ai.features.streamed`). ``price_per_core_hour`` and
    ``price_per_gpu_hour`` turn seconds into dollars (defaults: cloud on-demand list prices, see
    ``lepton_ai.config``). ``home`` holds the run store and the feature cache (default
    ``$LEPTON_HOME`` or ``~/.lepton``).
    ``cluster`` says where trials run: ``None`` for worker processes on this node, ``"inline"`` for
    this process (no isolation; debugging), or the address of a Dask scheduler (``"tcp://host:8786"``,
    see :mod:`lepton_ai.engine.dask_executor`).

    ``budget``, ``families``, ``seed``, ``max_trials``, ``patience`` and ``refit`` are the engine's
    own search (:class:`~lepton_ai.search.config.SearchConfig` documents each), the one ``fit`` and
    ``search`` run when given no config; those left out take the SearchConfig defaults (60 s, every
    family that fits the data, seed 0, no trial cap, patience 40, refit on). ``search_options``
    holds the ones given, parsed; a ``LeptonModel`` merges them with its own
    (:func:`~lepton_ai.search.config.merge_search_options`).
    """

    def __init__(
        self,
        cores: int | None = None,
        *,
        workers: int | None = None,
        memory: int | str | None = None,
        memory_gb: float | None = None,
        price_per_core_hour: float = DEFAULT_PRICE_PER_CORE_HOUR,
        price_per_gpu_hour: float = DEFAULT_PRICE_PER_GPU_HOUR,
        budget: str | float | None = None,
        families: str | Sequence[str] | None = None,
        seed: int | None = None,
        home: str | Path | None = None,
        cluster: str | None = None,
        max_trials: int | None = None,
        patience: int | None = None,
        refit: bool | None = None,
        store: str | Path | None = None,
        cache: str | None = None,
    ) -> None:
        resources = detect_resources()
        if cores is not None and (not isinstance(cores, int) or cores < 1):
            raise ConfigError(f"cores must be an int >= 1. Got {cores!r}.")
        if price_per_core_hour < 0 or price_per_gpu_hour < 0:
            raise ConfigError("prices must be >= 0.")
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ConfigError(f"workers must be an int >= 1. Got {workers!r}.")
        if cluster not in (None, "inline") and not str(cluster).startswith(("tcp://", "tls://")):
            raise ConfigError(f"cluster must be None (worker processes here), 'inline' or a Dask scheduler "
                              f"'tcp://host:port'. Got {cluster!r}.")
        self.resources = resources
        self.cores = min(cores, resources.cores) if cores else resources.cores
        self.workers = min(workers or self.cores, self.cores)
        if memory is not None and memory_gb is not None:
            raise ConfigError("give memory= or memory_gb=, not both (memory='4GB' says the same as memory_gb=4).")
        # The bound of the whole search (data read, workers, final fit); None: what is free when it starts.
        self.memory_limit = parse_memory(memory) if memory is not None else (
            int(memory_gb * 2**30) if memory_gb else None)
        total_memory = self.memory_limit or resources.memory_bytes * MEMORY_SHARE
        self.memory_share_bytes = int(total_memory / self.workers) if total_memory else None
        self.price_per_core_hour = float(price_per_core_hour)
        self.price_per_gpu_hour = float(price_per_gpu_hour)
        self.search_options: Mapping[str, Any] = MappingProxyType(parse_search_options(
            budget=budget, families=families, seed=seed, max_trials=max_trials, patience=patience, refit=refit))
        settings = Settings()
        self.home = Path(home) if home is not None else settings.home
        self.store_location: str | Path = store if store is not None else settings.store or self.home / "runs.sqlite"
        self.cache_url = cache if cache is not None else settings.cache
        self.cluster = cluster
        self._server: WorkerServer | None = None  # taken when a search begins (see _warm)
        self.result_: SearchResult | None = None
        self.run_id_: str | None = None  # the run the last search began (kept when it is interrupted)

    @property
    def search_config(self) -> SearchConfig:
        """The search ``fit`` and ``search`` run when given no config: the engine's options, defaults for the rest."""
        return SearchConfig(**self.search_options)

    @property
    def dollars_per_second(self) -> float:
        """What this node costs per wall second with the cores (and GPUs) a search uses."""
        gpu = self.resources.gpus * self.price_per_gpu_hour
        return (self.cores * self.price_per_core_hour + gpu) / 3600.0

    @property
    def store(self) -> RunStore:
        """The run store (opened once): ``store`` if given, else ``$LEPTON_STORE``, else
        ``<home>/runs.sqlite``."""
        opened = self.__dict__.get("_store")
        if opened is None:
            opened = self.__dict__["_store"] = RunStore(self.store_location)
        return opened

    def __getstate__(self) -> dict[str, Any]:
        """Copies (pickle, ``copy.deepcopy``) leave out the open store and the worker server."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_store", "_shared", "_server")} | {"_server": None}

    @property
    def shared(self) -> SharedCache | None:
        """The cache every node shares (``cache``, else ``$LEPTON_CACHE``: a Redis URL), connected once;
        ``None`` when there is none and ``<home>/cache`` alone is the cache."""
        if "_shared" not in self.__dict__:
            self.__dict__["_shared"] = shared_cache(self.cache_url)
        return self.__dict__["_shared"]

    @property
    def cache(self) -> FeatureCache:
        return FeatureCache(self.home / "cache" / "features", shared=self.shared)

    # ---- the simple face: fit / predict ----------------------------------------------------
    def fit(self, train: DataSource, dev: DataSource | None = None) -> SinglePointTechnique:
        """Search on this node with the engine's defaults; keeps the result in ``result_``."""
        self.result_ = self.search(train, dev)
        return self

    def predict(self, data: DataSource) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` (values for regression) of the best-metric model."""
        if self.result_ is None:
            raise NotFittedError("SinglePointTechnique.predict was called before fit.")
        chosen = select_trial(self.result_.trials, "accuracy")
        return self.result_.output(to_input(data, self.result_.schema), chosen.trial_id)

    # ---- the search ----------------------------------------------------------------------
    def search(
        self,
        train: DataSource,
        dev: DataSource | None = None,
        config: SearchConfig | None = None,
        *,
        label: str | None = None,
        task: str | None = None,
        callbacks: Sequence[Callback] = (),
        weight: str | Any = None,
    ) -> SearchResult:
        """Prepare ``train`` (once, cached) and run trials until the plan, the budget or the patience ends.

        ``config`` says what the search is (default: :attr:`search_config`, the engine's own).
        ``weight``: sample weights, a column of ``train`` (and of ``dev``, when given) or one number
        per row of ``train`` (then ``dev``'s rows count once each); see ``data.weights``.
        """
        started = time.monotonic()
        config = self.search_config if config is None else config
        plan = BudgetPlan.for_budget(config.budget.to_seconds(self.dollars_per_second), compress=config.compress)
        names = resolve_families(config.families)
        self._warm(names)  # the worker server imports while the data is read and prepared
        train_ds, dev_ds = self._datasets(train, dev, config.seed, label, task, weight)
        names = families_for_modality(names, train_ds.schema.modality, named=config.families is not None)
        if train_ds.streamed is not None:
            if self.cluster not in (None, "inline"):
                raise NotBuiltError(f"{train_ds.source}: a table bigger than memory is streamed by worker processes of "
                                    "this node only, not on a Dask cluster (its workers would need the table's files); "
                                    "run without cluster=, or give a memory= that holds the table.")
            names = _streaming_families(names, train_ds)
        prepared = self.cache.get_or_prepare(train_ds, dev_ds)
        validation = _validation(prepared, names, dev is not None or train_ds is dev_ds, plan.search_s)
        streamed = self._stream(prepared, train_ds, dev_ds, names, started + STREAM_SHARE * plan.search_s)
        metric = resolve_metric(config.metric, train_ds.schema.task)
        run_id = self.run_id_ = new_run_id()
        # What resume needs to go on: the search as run (its families as filtered, the engine's part
        # of the budget) and the node it ran on.
        record = {"families": names, "budget_s": plan.search_s, "epochs": config.epochs, "seed": config.seed,
                  "cores": self.cores, "workers": self.workers, "max_trials": config.max_trials,
                  "patience": config.patience, "refit": config.refit, "deterministic": config.deterministic,
                  "price_per_core_hour": self.price_per_core_hour, "price_per_gpu_hour": self.price_per_gpu_hour,
                  "source": train_ds.source, "label": train_ds.schema.label, "task": train_ds.schema.task,
                  "validation": validation.to_json(), "streamed": streamed, "metric": metric.name,
                  "metric_custom": metric.custom, "metric_given": config.metric is not None}
        self.store.create_run(run_id, record, prepared.info.get("key"))
        return self._execute(run_id, record, plan, prepared, started, (), (), callbacks, metric)

    def resume(self, run_id: str, *, callbacks: Sequence[Callback] = (), metric: Metric | None = None) -> SearchResult:
        """Continue the run ``run_id`` from the run store: finished trials are kept, cut-off ones rerun,
        and the search goes on with what is left of its budget. A run ranked by a ``make_metric`` of
        the user's needs that ``metric`` again."""
        store = self.store
        run = store.run(run_id)
        config = run["config"]
        metric = _resumed_metric(run_id, config, metric)
        prepared = self.cache.load(run["data_key"] or "")
        if prepared is None:
            raise ConfigError(f"run {run_id}: its prepared features are no longer in {self.cache.root}; "
                              "it cannot be resumed. Start a new run.")
        finished, rerun = [], []
        for status, trial in store.trials(run_id):
            if status in ("ok", "failed", "skipped"):
                finished.append(trial)
            else:
                rerun.append((trial.index, _planned_from(trial)))
        run_dir = self.home / "runs" / run_id
        for trial in finished:  # a run another node began: its finished models come from the shared cache
            if trial.ok and not fetch_trial(self.shared, run_dir, run_id, trial.trial_id):
                raise ConfigError(f"run {run_id}: the model of finished trial {trial.trial_id} is neither in "
                                  f"{run_dir / 'trials'} nor in a shared cache (LEPTON_CACHE); it cannot be resumed "
                                  "here. Resume it on the node that ran it, or share a cache between the nodes.")
        store.claim(run_id)  # no other node runs it meanwhile; a dead node's lease runs out first
        store.update_run(run_id, status="running")
        self._warm(config["families"])
        started = time.monotonic() - float(run["spent_s"])
        plan = BudgetPlan.for_budget(float(config["budget_s"]))  # the engine's part; compression is the caller's
        return self._execute(run_id, config, plan, prepared, started, finished, rerun, callbacks, metric)

    def _execute(self, run_id: str, config: dict, plan: BudgetPlan, prepared: PreparedData, started: float,
                 finished: Sequence[TrialResult], rerun: Sequence[tuple[int, PlannedTrial]],
                 callbacks: Sequence[Callback], metric: Metric) -> SearchResult:
        validation = Validation.from_json(config.get("validation"))
        if config.get("streamed"):
            plan = plan.for_streamed_table()
        n_rank = _rank_rows(prepared, validation)
        scheduler = Scheduler(config["families"], validation.fit_rows(n_rank) if validation.cross_validated
                              else prepared.n_rows, prepared.n_features, seed=config["seed"], epochs=config["epochs"],
                              cost_factor=max(1, validation.folds), rungs=not validation.cross_validated,
                              modality=prepared.schema.modality,
                              n_classes=len(prepared.schema.classes) if prepared.schema.task == "classification" else 0,
                              balance=imbalanced(prepared))
        for trial in finished:
            scheduler.restore(_planned_from(trial), trial.dev_metric if trial.ok else None)
        for _, planned in rerun:
            scheduler.restore(planned, None)
        run_dir = self.home / "runs" / run_id
        settings = LoopSettings(
            run_id=run_id, plan=plan, threads_per_trial=max(1, self.cores // self.workers),
            seed=config["seed"], epochs=config["epochs"], run_dir=run_dir,
            dollars_per_core_second=self.price_per_core_hour / 3600.0,
            dollars_per_gpu_second=self.price_per_gpu_hour / 3600.0 if self.resources.gpus else 0.0,
            max_trials=config.get("max_trials"), patience=int(config.get("patience", _DEFAULTS.patience)),
            refit=bool(config.get("refit", _DEFAULTS.refit)),
            needs=tuple(set.intersection(*(set(get_family(n).preload) for n in config["families"]))),
            deterministic=bool(config.get("deterministic", False)),
            folds=validation.folds, n_rank_rows=n_rank, shared=self.shared,
            streamed_dir=(config.get("streamed") or {}).get("dir"),
            streamed_rows=int((config.get("streamed") or {}).get("rows", 0)),
            streamed_memory=(config.get("streamed") or {}).get("memory"),
            metric=metric if config.get("metric_given") else None,
        )
        runner = CallbackRunner(callbacks)
        # What is left of the budget: all of it for a new run, less what was spent for a resumed one.
        runner.on_search_start(len(finished) + len(rerun) + scheduler.n_queued,
                               max(0.0, plan.search_s - (time.monotonic() - started)))
        try:
            with self.store.holding(run_id):
                trials = run_loop(settings, prepared, scheduler, self._executor(run_dir), self.store, started=started,
                                  finished=finished, rerun=rerun, callbacks=runner)
        except BaseException:
            self.store.update_run(run_id, status="interrupted", spent_s=time.monotonic() - started)
            raise
        trials = sorted(trials, key=lambda t: t.index)  # launch order, not the order they ended
        wall = time.monotonic() - started
        self.store.update_run(run_id, status="finished", spent_s=wall)
        runner.on_search_end(trials)
        if any(t.forced for t in trials):
            warnings.warn(f"the budget ({plan.search_s:.2g}s) is too small for any trial; only the cheapest "
                          "candidate ran, past the budget. Give a larger budget for a real search.", stacklevel=3)
        ok = {t.trial_id: t.family for t in trials if t.ok}
        return self._result(run_id, config, plan, prepared, trials, ok, wall,
                            {"mode": "deterministic" if settings.deterministic else "deadline",
                             "validation": validation.to_json(), "n_rank": n_rank, "streamed": config.get("streamed"),
                             "metric": metric.name})

    def finished_result(self, run_id: str) -> SearchResult | None:
        """The run ``run_id`` as far as it got, without training anything more: its finished trials and
        their models (``None`` when none finished well). What an interrupted ``lepton train`` saves."""
        run = self.store.run(run_id)
        prepared = self.cache.load(run["data_key"] or "")
        if prepared is None:
            return None
        config = run["config"]
        trials = sorted(self.store.finished_trials(run_id), key=lambda t: t.index)
        run_dir = self.home / "runs" / run_id
        ok = {t.trial_id: t.family for t in trials if t.ok and fetch_trial(self.shared, run_dir, run_id, t.trial_id)}
        if not ok:
            return None
        return self._result(run_id, config, BudgetPlan.for_budget(float(config["budget_s"])), prepared,
                            [t for t in trials if t.trial_id in ok], ok, float(run["spent_s"]),
                            {"validation": config.get("validation"), "interrupted": True})

    def _result(self, run_id: str, config: dict, plan: BudgetPlan, prepared: PreparedData,
                trials: list[TrialResult], ok: dict[str, str], wall: float, extra: dict[str, Any]) -> SearchResult:
        """The SearchResult of a run: its trials, the models of ``ok`` (trial id → family) in its folder."""
        return SearchResult(
            schema=prepared.schema, preparer=prepared.preparer, trials=trials,
            models=ModelCatalog(self.home / "runs" / run_id / "trials", ok), seed=config["seed"],
            n_threads=max(1, self.cores // self.workers), budget_s=plan.search_s, wall_s=wall,
            price_per_core_hour=self.price_per_core_hour, price_per_gpu_hour=self.price_per_gpu_hour,
            extra={**prepared.info, "workers": self.workers, **extra}, run_id=run_id, plan=plan,
        )

    # ---- the run store ---------------------------------------------------------------------
    def delete_run(self, run_id: str) -> None:
        """Remove run ``run_id``: its rows in the run store, its trials' models under
        ``home/runs``, and its prepared features when no other run uses them. A model saved with
        ``save_model`` is a copy and stays."""
        record = self.store.run(run_id)  # an unknown id is a clear error before anything is removed
        run_dir = self.home / "runs" / run_id
        trash = run_dir.with_name(f".{run_id}.removing")
        if trash.is_dir():  # left by a removal that was interrupted
            shutil.rmtree(trash)
        if run_dir.is_dir():
            os.replace(run_dir, trash)  # the run's files are whole or gone, never half deleted
        self.store.delete_run(run_id)
        if trash.is_dir():
            shutil.rmtree(trash)
        key = record.get("data_key")
        if key and not any(r.get("data_key") == key for r in self.store.runs(limit=None)):
            self.cache.remove(key)

    def prune_runs(self, keep: int) -> list[str]:
        """Delete every run but the newest ``keep`` (runs still marked running are left alone: they
        may be live, or waiting for ``resume``); return the ids deleted."""
        if not isinstance(keep, int) or isinstance(keep, bool) or keep < 0:
            raise ConfigError(f"keep must be an int >= 0. Got {keep!r}.")
        old = [r["run_id"] for r in self.store.runs(limit=None)[keep:] if r["status"] != "running"]
        for run_id in old:
            self.delete_run(run_id)
        return old

    def _warm(self, families: Sequence[str]) -> None:
        """Take the worker server as the search begins, and start its imports for ``families`` (torch)
        while the data is read and prepared. It is the process's shared one: later searches, of this
        engine or another, reuse it without importing again (see :mod:`lepton_ai.engine.worker_server`)."""
        if self.cluster is None:
            self._server = shared_worker_server()
            self._server.warm({module for name in families for module in get_family(name).preload})

    def _executor(self, run_dir: Path) -> Executor:
        if self.cluster == "inline":
            return InlineExecutor()
        if self.cluster is not None:  # a Dask scheduler; dask is imported only here
            from .dask_executor import DaskExecutor

            return DaskExecutor(self.cluster, run_dir=run_dir, threads_per_trial=max(1, self.cores // self.workers))
        assert self._server is not None, "_warm takes the worker server before a search runs"
        return LocalExecutor(self.workers, self.memory_share_bytes, work_dir=run_dir / "workers", server=self._server)

    def _stream(self, prepared: PreparedData, train: Dataset, dev: Dataset, families: Sequence[str],
                deadline: float) -> dict[str, Any] | None:
        """For a sample of a table bigger than memory: every row of the table (less the rows held out
        of the search) prepared for the final fit, as many as its share of the memory holds; the
        pass stops at ``deadline`` (monotonic) with the rows it has. ``None`` for data in memory."""
        if train.streamed is None or dev.streamed is None:
            return None
        from ..features.streamed import read_streamed, write_streamed

        family = get_family(families[0])
        limit = self.memory_limit or available_memory()
        n_classes = len(prepared.schema.classes) if prepared.schema.task == "classification" else 0
        per_row = family.streamed_row_bytes(int(prepared.views[family.view][0].X.shape[1]), n_classes)
        max_rows = max(1, int((1 - SEARCH_SHARE) * limit / per_row))
        key = f"{prepared.info.get('key')}-{family.view}-{max_rows}"
        directory = self.home / "cache" / "streams" / key
        written = read_streamed(directory)
        if written is None:
            written = write_streamed(prepared.preparer, train, dev, family.view, directory, max_rows,
                                     deadline=time.time() + (deadline - time.monotonic()))
            table = train.streamed.stream
            warnings.warn(f"{table.source}: the final fit of {', '.join(families)} reads {written.n_rows:,} of the "
                          f"table's {table.n_rows:,} rows ({written.n_held_out:,} held out of the search, the rest "
                          f"left out to stay within {format_bytes(limit)} or the budget).", UserWarning, stacklevel=4)
        return {"dir": str(directory), "rows": written.n_rows, "memory": int((1 - SEARCH_SHARE) * limit)}

    def _datasets(self, train: DataSource, dev: DataSource | None, seed: int, label: str | None,
                  task: str | None, weight: str | Any = None) -> tuple[Dataset, Dataset]:
        train_ds = build_dataset(train, label, task=task, memory=self.memory_limit, seed=seed,
                                 weight=None if isinstance(train, Dataset) else weight)
        if dev is None:
            if len(train_ds) < MIN_ROWS_TO_SPLIT:
                warnings.warn(f"{train_ds.source}: only {len(train_ds)} training rows and no dev set, too few to hold "
                              f"any out (fewer than {MIN_ROWS_TO_SPLIT}): candidates are ranked on the rows they "
                              "trained on, so their dev metrics are optimistic and the choice between them is "
                              "unreliable. Give a dev set or more rows.", UserWarning, stacklevel=4)
                return train_ds, train_ds
            part_train, part_dev = split_dataset(train_ds, (1 - DEV_FRACTION, DEV_FRACTION), seed)
            return part_train, part_dev
        dev_ds = to_input(dev, train_ds.schema)
        if dev_ds.y is None:
            raise ConfigError(f"{dev_ds.source}: the dev set has no label column {train_ds.schema.label!r}.")
        if isinstance(weight, str):  # an array of weights is train's alone
            dev_ds = with_weights(dev_ds, weight)
        return train_ds, dev_ds


def _resumed_metric(run_id: str, config: dict[str, Any], given: Metric | None) -> Metric:
    """The metric a run is resumed with: the one it was ranked by (a user's own must be given again)."""
    name = config.get("metric")
    task = config.get("task") or "classification"
    if given is not None:
        if name is not None and given.name != name:
            raise ConfigError(f"run {run_id} was ranked by metric {name!r}; resume it with that metric, not "
                              f"{given.name!r}.")
        return resolve_metric(given, task)
    if config.get("metric_custom"):
        raise ConfigError(f"run {run_id} was ranked by {name!r}, a metric of your own: resume it with "
                          "metric=make_metric(...) again (LeptonModel(metric=...).resume).")
    return resolve_metric(name, task)


def _streaming_families(names: Sequence[str], train: Dataset) -> list[str]:
    """The families that can learn from every row of a table bigger than memory; the others are left
    out with the reason in a warning (none left: a ConfigError)."""
    kept = [n for n in names if get_family(n).streams]
    left = [n for n in names if n not in kept]
    table = train.streamed.stream
    reason = (f"they learn from every row in memory, and {table.source}'s {table.n_rows:,} rows "
              f"(about {format_bytes(table.memory_bytes)}) do not fit")
    if not kept:
        raise ConfigError(f"{', '.join(names)}: {reason}. Give families that learn in batches (gbdt), or a larger "
                          "memory= (CLI: --memory).")
    if left:
        warnings.warn(f"{', '.join(left)} left out: {reason}; {', '.join(kept)} read the rows in batches.",
                      UserWarning, stacklevel=4)
    return kept


def _rank_rows(prepared: PreparedData, validation: Validation) -> int:
    """The rows candidates are ranked on: every training row under folds, else the dev split's."""
    n_train, n_dev = int(prepared.info.get("n_train") or 0), int(prepared.info.get("n_dev") or 0)
    return n_train + n_dev if validation.cross_validated else n_dev


def _validation(prepared: PreparedData, families: Sequence[str], dev_given: bool, budget_s: float) -> Validation:
    """Folds or the dev split for this search (search.validation), from the data and the families' first costs."""
    train, dev = prepared.views["dense"]
    y = None if train.y is None or dev.y is None else np.concatenate([train.y, dev.y])
    n_rows = len(train.X) + len(dev.X)
    rows = fold_fit_rows(n_rows, DEFAULT_FOLDS)
    first = []
    for name in families:
        cls = get_family(name)
        points = cls.starting_points(rows, prepared.n_features)
        if points:
            first.append(cls(**points[0]).estimate_cost(rows, prepared.n_features).fit_seconds)
    classes = prepared.schema.classes if prepared.schema.task == "classification" else None
    return choose_validation(n_rows, prepared.schema.task, y, dev_given=dev_given, budget_s=budget_s,
                             first_fit_s=first, class_names=classes)


def imbalanced(prepared: PreparedData) -> bool:
    """Whether the classes of the training rows are imbalanced enough for the search to also try its
    families with ``class_weight="balanced"``: the largest class weighs ``IMBALANCE_RATIO`` times the
    smallest or more (by the rows' own weights)."""
    if prepared.schema.task != "classification":
        return False
    y, weight = joined_labels(*prepared.views["dense"])
    per_class = np.bincount(y.astype(np.int64), weights=weight)
    present = per_class[per_class > 0]
    return len(present) >= 2 and float(present.max()) >= IMBALANCE_RATIO * float(present.min())


def _planned_from(trial: TrialResult) -> PlannedTrial:
    """The scheduler's view of a recorded trial (for resume)."""
    return PlannedTrial(family=trial.family, params=dict(trial.params), rung=trial.rung, fraction=trial.rung_fraction,
                        origin=trial.origin or "start", config_id=trial.config_id or trial.trial_id,
                        estimated_fit_s=float(trial.estimated_fit_s or 0.0), class_weight=trial.class_weight)
