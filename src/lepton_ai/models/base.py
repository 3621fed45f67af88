"""The extension point: every model family is one :class:`ModelFamily` subclass.

A family is shaped like a scikit-learn estimator (its ``__init__`` only stores keyword
arguments, so ``get_params``/``set_params``/``clone`` come for free) plus a cheap prior estimate
of its cost, a search space, and a serialisable state that is never a pickle.
"""

from __future__ import annotations

import json
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from sklearn.base import BaseEstimator

from ..errors import ConfigError, NotBuiltError, NotFittedError
from ..features.prepared import Prepared, View

__all__ = ["ModelFamily", "DerivedFamily", "Cost", "Budget", "Domain", "FitReport", "FAMILY_FILE"]

FAMILY_FILE = "family.json"


@dataclass(frozen=True)
class Cost:
    """A prior estimate of what a candidate costs, before it runs."""

    fit_seconds: float
    predict_ms_per_row: float
    memory_bytes: int


@dataclass(frozen=True)
class Budget:
    """What one fit may spend: a wall-clock deadline, an epoch cap, threads and a seed.

    ``checkpoint_dir``: where neural families keep their state after every epoch; a fit given a
    directory that holds a checkpoint of the same training resumes from it (models/checkpoint.py).
    ``on_epoch``: called by a family that trains in epochs after each one with
    ``{"epoch", "n_epochs", "train_loss", "dev_loss", "dev_metric"}`` (``models.neural.epochs``);
    the engine's worker passes one that appends the record to the trial's epoch file.
    ``deterministic``: the fit must be a function of the data, parameters and seed alone (no
    deadline, and no choice made by timing, such as measuring whether bf16 is faster), so the
    same inputs give byte-identical weights.
    """

    deadline: float | None = None  # time.monotonic() value
    max_epochs: int | None = None
    n_threads: int = 1
    seed: int = 0
    checkpoint_dir: str | None = None
    on_epoch: Callable[[dict[str, Any]], None] | None = None
    deterministic: bool = False

    @classmethod
    def of_seconds(cls, seconds: float | None, **kwargs: Any) -> Budget:
        return cls(deadline=None if seconds is None else time.monotonic() + seconds, **kwargs)

    def remaining_s(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def expired(self) -> bool:
        return self.remaining_s() <= 0


@dataclass(frozen=True)
class FitReport:
    """What a fitted model says about its own training, beyond its weights (``ModelFamily.fit_report``).

    ``length``: how long it trained, in the unit of the family's ``length_param`` (trees kept by
    early stopping, epochs run); ``converged``: whether an iterative solver converged; ``history``:
    one record per epoch (``{"epoch", "train_loss", "dev_loss", ...}``); ``cut_at_deadline``: the
    fit stopped at its budget's deadline instead of its own length or early stopping (a trial cut
    before its model beats a constant prediction is then recorded failed, not ranked). ``None`` or
    empty where a family has no such notion.
    """

    length: int | None = None
    converged: bool | None = None
    history: tuple[dict[str, Any], ...] = ()
    cut_at_deadline: bool = False  # the fit stopped at its deadline, not by its own rule


@dataclass(frozen=True)
class Domain:
    """One hyper-parameter's range: ``kind`` float/int on [low, high] (log-scaled or not) or a choice."""

    kind: Literal["float", "int", "choice"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()


class ModelFamily(BaseEstimator, ABC):  # type: ignore[misc]
    """Base of every family: the one contract between a model and the engine.

    Life of a candidate: the engine draws parameters from :meth:`search_space` (after the
    :meth:`starting_points`), ranks them by :meth:`estimate_cost`, and in a worker process builds
    ``cls(**params)``, calls :meth:`fit` with a :class:`Budget`, scores :meth:`predict_proba` or
    :meth:`predict` on dev, reads :meth:`fit_report`, and saves with :meth:`save`. A refit trains
    ``cls(**refit_params(...))`` on train + dev; loading goes through :meth:`load`.

    Required:
        ``name`` (class variable, the registry key); ``__init__`` storing its keyword arguments
        only (``get_params``/``clone`` come from scikit-learn); ``fit`` (sets ``task_`` and
        ``n_classes_`` through ``_set_task``, honours ``budget``: deadline, epochs, threads, seed,
        ``on_epoch``); ``_raw_predict``; ``estimate_cost``; ``search_space``; ``starting_points``;
        ``_save_weights`` and ``_load_weights`` (no pickle).

    Optional (class variables, with defaults):
        ``view`` (the prepared view it reads), ``modalities`` (the data it learns from),
        ``neural``, ``searchable`` (False for families made from fitted models), ``preload``
        (modules its worker imports first), ``length_param`` (the parameter that sets how long it
        trains: ``"n_estimators"``, ``"epochs"``; ``None`` for a fixed-length fit),
        ``variant_kinds`` (the compressed variants ``compress`` may make of its models),
        ``streams`` (``fit`` reads training rows a slice at a time from a file bigger than memory).

    Optional (methods): ``fit_report``, ``refit_params``, ``export_module`` (neural families:
    the torch module compression starts from), ``test_params``, ``unavailable_reason``,
    ``_state_json`` (extra state for ``family.json``).

    What the engine reads after ``fit``: ``task_``, ``n_classes_``, the predictions, and
    :meth:`fit_report` (:class:`FitReport`: the length reached, convergence, the epoch history),
    which the trial record keeps; nothing else, and never by probing attributes.
    """

    name: ClassVar[str]
    view: ClassVar[View] = "dense"   # which prepared view it consumes
    neural: ClassVar[bool] = False
    # The data modalities (Schema.modality) the family can learn from; the engine offers it no other.
    modalities: ClassVar[tuple[str, ...]] = ("tabular", "image", "sequence", "text")
    # False for families made from a fitted model (compressed variants): loadable, never searched.
    searchable: ClassVar[bool] = True
    # Modules a worker process should have imported before it runs this family's trial (the worker
    # server keeps torch in a second process, imported once, so tree and linear trials start without it).
    preload: ClassVar[tuple[str, ...]] = ()
    # The parameter that sets how long a fit trains (its FitReport.length is in the same unit): a refit
    # that reaches less than the trial asked for was cut short (engine.refit).
    length_param: ClassVar[str | None] = None
    # The compressed variants (registry names, compress.variants) its fitted models can be turned into.
    variant_kinds: ClassVar[tuple[str, ...]] = ()
    # The modalities this family usually wins on (a CNN on images): its first starting point runs
    # before any other trial there, with the time it needs, instead of waiting behind cheap families.
    favoured: ClassVar[tuple[str, ...]] = ()
    # Whether a fit grows one model per class (LightGBM grows a tree per class each round): the
    # engine multiplies :meth:`estimate_cost`'s fit seconds by the class count on multi-class data.
    cost_per_class: ClassVar[bool] = False
    # Whether a fit stopped at its budget's deadline returns the model it has learned so far (trees
    # boosted, epochs with a schedule fitted to the deadline): the engine then starts such a trial
    # with less time than its estimate, where one that cannot be cut must have all of it.
    anytime: ClassVar[bool] = False
    # Whether ``fit`` can learn from training rows it reads a slice at a time (``train.X`` an object
    # with ``len``, slicing and ``batch_size``, such as features.streamed.RowFile) instead of an array:
    # on a table bigger than memory only such families are searched, and their final fit reads every row.
    streams: ClassVar[bool] = False

    @classmethod
    def streamed_row_bytes(cls, n_features: int, n_classes: int) -> float:
        """Memory a fit on rows read in batches (``streams``) takes per training row."""
        raise NotImplementedError(f"{cls.name} does not learn from rows read in batches (streams=False)")

    # ---- learning -------------------------------------------------------------------------
    @abstractmethod
    def fit(self, train: Prepared, dev: Prepared | None = None, *, budget: Budget | None = None) -> ModelFamily:
        """Learn from ``train``; ``dev`` serves early stopping. Set ``task_`` and ``n_classes_``."""

    @abstractmethod
    def _raw_predict(self, X: np.ndarray) -> np.ndarray:
        """Probabilities (n, n_classes) for classification, values (n,) for regression."""

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n_rows, n_classes)``; rows sum to 1."""
        self._check_fitted()
        if self.task_ != "classification":
            raise AttributeError(f"{type(self).__name__} was trained for regression: it has no predict_proba.")
        return self._raw_predict(X)

    def output(self, X: np.ndarray) -> np.ndarray:
        """Probabilities ``(n, n_classes)`` for classification, values ``(n,)`` for regression: what
        metrics, losses and ensembles read."""
        self._check_fitted()
        return self._raw_predict(X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class indices (classification) or predicted values (regression)."""
        self._check_fitted()
        out = self._raw_predict(X)
        return out.argmax(axis=1) if self.task_ == "classification" else out

    def fit_report(self) -> FitReport:
        """What the fit reached (length, convergence, epoch history); read by the engine after ``fit``."""
        return FitReport()

    def export_module(self) -> Any:
        """The fitted network as one ``torch.nn.Module``: flat float32 ``(n, n_features)`` in, the outputs
        of ``_raw_predict`` out (probabilities or values). Compression (ONNX, int8, bf16) starts from it.

        Only neural families have one; the others raise :class:`NotBuiltError`.
        """
        raise NotBuiltError(f"{type(self).__name__} has no torch module to export; only neural families do.")

    # ---- cost and search -----------------------------------------------------------------
    @abstractmethod
    def estimate_cost(self, n_rows: int, n_features: int) -> Cost:
        """A prior of fit seconds, per-row prediction ms and memory, before running."""

    @classmethod
    @abstractmethod
    def search_space(cls, n_rows: int, n_features: int) -> dict[str, Domain]:
        """The ranges the search may draw this family's parameters from."""

    @classmethod
    @abstractmethod
    def starting_points(cls, n_rows: int, n_features: int) -> list[dict[str, Any]]:
        """Cheap, good configurations to try first, cheapest first."""

    @classmethod
    def refit_params(cls, params: dict[str, Any], report: FitReport) -> dict[str, Any]:
        """Parameters to train a finished trial again on train + dev, where no dev set stops it early.

        ``report`` is what the trial's fit reported (:meth:`fit_report`). The default keeps
        ``params``; families that stop early fix the length the trial found instead.
        """
        return dict(params)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """A tiny configuration for the contract tests."""
        return {}

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """Why this family cannot run here (an optional package is missing), or ``None`` when it can."""
        return None

    # ---- persistence ----------------------------------------------------------------------
    def save(self, directory: Path) -> list[Path]:
        """Write ``family.json`` and the weights into ``directory``; return the files written."""
        self._check_fitted()
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "family": self.name,
            "params": _jsonable_params(self.get_params()),
            "task": self.task_,
            "n_classes": self.n_classes_,
            "state": self._state_json(),
        }
        meta_path = directory / FAMILY_FILE
        meta_path.write_text(json.dumps(meta, indent=1, sort_keys=True))
        return [meta_path, *self._save_weights(directory)]

    @classmethod
    def load(cls, directory: Path, *, load_family: Callable[[Path], ModelFamily] | None = None) -> ModelFamily:
        """Rebuild a fitted family from what :meth:`save` wrote (hashes are checked by the store).

        ``load_family`` loads another saved model by its directory (``registry.load_family``); a
        family made from another model (a compressed variant) loads its source with it.
        """
        meta = json.loads((directory / FAMILY_FILE).read_text())
        model = cls(**meta["params"])
        model.task_ = meta["task"]
        model.n_classes_ = meta["n_classes"]
        model._load_weights(directory, meta["state"])
        return model

    @abstractmethod
    def _save_weights(self, directory: Path) -> list[Path]: ...

    @abstractmethod
    def _load_weights(self, directory: Path, state: dict[str, Any]) -> None: ...

    def _state_json(self) -> dict[str, Any]:
        return {}

    # ---- helpers --------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "task_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit first.")

    def _check_int(self, name: str, low: int) -> None:
        """Raise ``ConfigError`` unless parameter ``name`` is an int >= ``low``."""
        value = getattr(self, name)
        if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low):
            raise ConfigError(f"The '{name}' parameter of {type(self).__name__} must be an int >= {low}. "
                              f"Got {value!r}.")

    def _check_float(self, name: str, low: float, high: float = math.inf, *, include_low: bool = False,
                     include_high: bool = False) -> None:
        """Raise ``ConfigError`` unless parameter ``name`` is a number between ``low`` and ``high``."""
        value = getattr(self, name)
        is_number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        above = is_number and (low < value or (include_low and value == low))
        if not (above and (value < high or (include_high and value == high))):
            interval = f"{'[' if include_low else '('}{low:g}, {high:g}{']' if include_high else ')'}"
            raise ConfigError(f"The '{name}' parameter of {type(self).__name__} must be in {interval}. "
                              f"Got {value!r}.")

    def _set_task(self, train: Prepared) -> None:
        self.task_ = train.task
        self.n_classes_ = train.n_classes

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "task_")


class DerivedFamily(ModelFamily):
    """A family made from trained models (a compressed variant, an ensemble): loaded, measured and
    chosen like any other, but never searched or trained. ``made_by`` says what makes it."""

    searchable: ClassVar[bool] = False
    variant_kinds: ClassVar[tuple[str, ...]] = ()  # a variant is not compressed again
    made_by: ClassVar[str] = "lepton-ai from trained models"

    def fit(self, train: Prepared, dev: Prepared | None = None, *, budget: Budget | None = None) -> ModelFamily:
        raise ConfigError(f"{self.name} models are made by {self.made_by}; they cannot be trained.")

    def estimate_cost(self, n_rows: int, n_features: int) -> Cost:
        return Cost(fit_seconds=0.0, predict_ms_per_row=0.0, memory_bytes=0)

    @classmethod
    def search_space(cls, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {}

    @classmethod
    def starting_points(cls, n_rows: int, n_features: int) -> list[dict[str, Any]]:
        return []


def _jsonable_params(params: dict[str, Any]) -> dict[str, Any]:
    # NumPy scalars (a grid or a sampler may hand them over) become plain numbers JSON can hold.
    return {k: (list(v) if isinstance(v, tuple) else v.item() if isinstance(v, np.generic) else v)
            for k, v in params.items()}
