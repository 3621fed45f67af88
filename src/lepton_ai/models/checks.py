"""The contract every model family must meet: ``check_family(cls, task)`` raises if it does not.

A new family is done when ``check_family`` passes for both tasks. It fits ``cls(**cls.test_params())``
on small synthetic data and checks what the engine and the store rely on: ``fit`` returns self,
predicting before ``fit`` raises ``NotFittedError``, ``clone`` copies the parameters and not the
learned state, probabilities are ``(n_rows, n_classes)`` and sum to 1 (also for two classes and for
a class absent from training), the same seed gives the same model, save → load predicts
identically without pickle, cost estimates are positive, ``fit_report`` is JSON-able and its length
fits the family's ``length_param``, every epoch of its history reached ``Budget.on_epoch``, and a
bad parameter value fails in ``fit`` with a ``ConfigError`` that names the parameter, and sample
weights (``Prepared.weight``) reach the learner: rows weighted up pull the predictions their way.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone

from ..errors import ConfigError, NotFittedError
from ..features.prepared import Prepared
from .base import Budget, FitReport, ModelFamily

__all__ = ["check_family", "synthetic_data"]

# Files a family may write: JSON, safetensors, LightGBM text, ONNX. Never a pickle.
_ALLOWED_SUFFIXES = {".json", ".safetensors", ".txt", ".onnx"}
_COST_SIZES = ((10, 1), (500, 20), (1_000_000, 300))


def check_family(cls: type[ModelFamily], task: str, *, bad_params: dict[str, Any] | None = None) -> None:
    """Check that ``cls`` honours the model-family contract on ``task`` (classification/regression).

    ``bad_params`` maps each parameter to a value that ``fit`` must refuse; by default every numeric
    parameter is tried at -1, since every parameter of the shipped families is a size, a rate or
    a strength. Pass your own for a family with parameters that may be negative.
    """
    if task not in ("classification", "regression"):
        raise ConfigError(f"task must be 'classification' or 'regression'. Got {task!r}.")
    n_classes = 3 if task == "classification" else 0
    train = synthetic_data(cls, task, 150, n_classes=n_classes, seed=0)
    dev = synthetic_data(cls, task, 60, n_classes=n_classes, seed=1)
    model = cls(**cls.test_params())
    _check_not_fitted(model, dev.X)
    _check_params_round_trip(model)
    epochs: list[dict[str, Any]] = []
    _require(model.fit(train, dev, budget=Budget(n_threads=1, seed=0, on_epoch=epochs.append)) is model,
             f"{cls.__name__}.fit must return self")
    budget = Budget(n_threads=1, seed=0)
    _check_outputs(model, dev, n_classes)
    _check_fit_report(model, epochs)
    _check_batch_invariance(model, dev.X)
    _check_not_fitted(clone(model), dev.X)
    again = clone(model).fit(train, dev, budget=budget)
    np.testing.assert_array_equal(again.predict(dev.X), model.predict(dev.X),
                                  err_msg=f"{cls.__name__}: the same data and seed gave other predictions")
    _check_save_load(model, dev.X)
    _check_costs(model)
    _check_search_space(cls)
    if task == "classification":
        _check_binary_and_missing_class(cls, dev.X, budget)
    _check_weights(cls, train, dev, budget)
    _check_bad_params(cls, train, dev, bad_params)


def synthetic_data(cls: type[ModelFamily], task: str, n_rows: int, *, n_classes: int = 3,
                   seed: int = 0) -> Prepared:
    """A learnable table of 6 features for ``cls``'s view; the ``codes`` view gets a categorical column,
    the ``text`` view one column of words that name each feature's sign and size (``f3_hi``).

    ``y`` depends on the features through fixed weights, so two calls with different seeds draw
    rows from the same problem (a train and a dev split).
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, 6)).astype(np.float32)
    categorical: list[int] = []
    array_modality = None if "tabular" in cls.modalities else next(
        (m for m in cls.modalities if m in ("image", "sequence")), None)
    if cls.view == "codes" and array_modality is None:
        X[:, 5] = rng.integers(0, 4, size=n_rows)
        categorical = [5]
    weights = np.random.default_rng(12345).normal(size=(6, max(n_classes, 1)))
    signal = X.astype(np.float64) @ weights + 0.3 * rng.normal(size=(n_rows, weights.shape[1]))
    features = _as_words(X) if cls.view == "text" else X
    shape: tuple[int, ...] = ()
    if array_modality is not None:
        features, shape = _as_array_rows(X, array_modality, rng)
    if task == "classification":
        y = signal.argmax(axis=1).astype(np.int64)
        y[:n_classes] = np.arange(n_classes)  # every class present, however few rows
        return Prepared(X=features, y=y, task="classification", n_classes=n_classes, categorical=categorical,
                        shape=shape)
    return Prepared(X=features, y=10.0 + 3.0 * signal[:, 0], task="regression", categorical=categorical,
                    shape=shape)


def _as_array_rows(X: np.ndarray, modality: str, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, ...]]:
    """Flat rows of 8×8 images (pixel values around 100) or of 10×3 sequences zero-padded after 6 to 10
    frames, both carrying the 6 features of ``X``: for families that accept only images or sequences."""
    if modality == "image":
        projection = np.random.default_rng(54321).normal(size=(X.shape[1], 64))
        return (100.0 + 20.0 * X.astype(np.float64) @ projection).astype(np.float32), (8, 8)
    frames = np.stack([X[:, (t % 2) * 3 : (t % 2) * 3 + 3] * (1.0 + 0.1 * t) for t in range(10)], axis=1)
    frames = frames + 0.05 * rng.normal(size=frames.shape)
    lengths = rng.integers(6, 11, size=len(X))
    frames[np.arange(10)[None, :] >= lengths[:, None]] = 0.0
    return frames.reshape(len(X), -1).astype(np.float32), (10, 3)


def _as_words(X: np.ndarray) -> np.ndarray:
    """The "text" view of ``X``: one string per row, a word per feature for its quartile (``f0_lo``...)."""
    buckets = np.digitize(X, [-0.67, 0.0, 0.67])
    names = np.array(["lo", "midlo", "midhi", "hi"])
    out = np.empty((len(X), 1), dtype=object)
    out[:, 0] = [" ".join(f"f{j}_{names[b]}" for j, b in enumerate(row)) for row in buckets]
    return out


def _check_not_fitted(model: ModelFamily, X: np.ndarray) -> None:
    name = type(model).__name__
    for method in (model.predict, model.predict_proba):
        try:
            method(X)
        except NotFittedError:
            continue
        raise AssertionError(f"{name}.{method.__name__} before fit must raise NotFittedError")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            model.save(Path(tmp))
        except NotFittedError:
            return
    raise AssertionError(f"{name}.save before fit must raise NotFittedError")


def _check_params_round_trip(model: ModelFamily) -> None:
    params = model.get_params()
    copy = clone(model)
    name = type(model).__name__
    _require(copy is not model and copy.get_params() == params, f"{name}: clone changed the parameters")
    rebuilt = type(model)(**params)
    _require(rebuilt.get_params() == params, f"{name}: __init__ must store its arguments unchanged")


def _check_outputs(model: ModelFamily, dev: Prepared, n_classes: int) -> None:
    name = type(model).__name__
    n_rows = len(dev.X)
    pred = model.predict(dev.X)
    _require(pred.shape == (n_rows,), f"{name}.predict: expected shape ({n_rows},), got {pred.shape}")
    if dev.task == "regression":
        _require(bool(np.all(np.isfinite(pred))), f"{name}.predict returned non-finite values")
        try:
            model.predict_proba(dev.X)
        except AttributeError:
            return
        raise AssertionError(f"{name}.predict_proba after a regression fit must raise AttributeError")
    _check_proba(model, dev.X, n_classes)
    _require(set(np.unique(pred)) <= set(range(n_classes)), f"{name}.predict must return class indices")


def _check_fit_report(model: ModelFamily, epochs: list[dict[str, Any]]) -> None:
    """What the engine keeps of a fit: JSON-able, a length within what ``length_param`` asked for."""
    name = type(model).__name__
    report = model.fit_report()
    _require(isinstance(report, FitReport), f"{name}.fit_report must return a FitReport, got {report!r}")
    json.dumps(dataclasses.asdict(report))  # it crosses the worker's process boundary as JSON
    params = model.get_params()
    length_param = type(model).length_param
    _require(length_param is None or length_param in params,
             f"{name}.length_param {length_param!r} is not one of its parameters {sorted(params)}")
    if length_param is not None and report.length is not None:
        _require(1 <= report.length <= params[length_param],
                 f"{name}.fit_report: length {report.length} is outside 1..{length_param}={params[length_param]}")
    _require([r.get("epoch") for r in epochs] == [h.get("epoch") for h in report.history],
             f"{name}.fit must pass each epoch of its history to Budget.on_epoch: got {epochs} for "
             f"{list(report.history)}")


def _check_batch_invariance(model: ModelFamily, X: np.ndarray) -> None:
    # Serving batches rows from concurrent requests: a row's output must not depend on its neighbours
    # beyond float32 rounding (a float32 product rounds differently by batch shape).
    predict = model.predict_proba if model.task_ == "classification" else model.predict
    full = predict(X)
    alone = np.concatenate([predict(X[i : i + 1]) for i in range(len(X))])
    for part, rows in ((alone, slice(None)), (predict(X[10:20]), slice(10, 20))):
        np.testing.assert_allclose(part, full[rows], rtol=1e-5, atol=1e-6,
                                   err_msg=f"{type(model).__name__}: a row's output depends on its batch")


def _check_proba(model: ModelFamily, X: np.ndarray, n_classes: int) -> None:
    name = type(model).__name__
    proba = model.predict_proba(X)
    expected = (len(X), n_classes)
    _require(proba.shape == expected, f"{name}.predict_proba: expected shape {expected}, got {proba.shape}")
    _require(bool(np.all(proba >= 0) and np.all(np.isfinite(proba))),
             f"{name}.predict_proba returned negative or non-finite values")
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6,
                               err_msg=f"{name}: probabilities must sum to 1")
    np.testing.assert_array_equal(model.predict(X), proba.argmax(axis=1),
                                  err_msg=f"{name}.predict must be the argmax of predict_proba")


def _check_save_load(model: ModelFamily, X: np.ndarray) -> None:
    name = type(model).__name__
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "model"
        written = model.save(directory)
        on_disk = sorted(p for p in directory.rglob("*") if p.is_file())
        _require(sorted(written) == on_disk,
                 f"{name}.save must return the files it wrote: {written} vs {on_disk}")
        odd = [p.name for p in on_disk if p.suffix not in _ALLOWED_SUFFIXES]
        _require(not odd, f"{name}.save wrote files that are not JSON/safetensors/text/ONNX: {odd}")
        loaded = type(model).load(directory)
    _require(type(loaded) is type(model) and loaded.get_params() == model.get_params(),
             f"{name}.load must rebuild the same family with the same parameters")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X),
                                  err_msg=f"{name}: save -> load changed the predictions")
    if model.task_ == "classification":
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X),
                                      err_msg=f"{name}: save -> load changed the probabilities")


def _check_costs(model: ModelFamily) -> None:
    for n_rows, n_features in _COST_SIZES:
        cost = model.estimate_cost(n_rows, n_features)
        values = (cost.fit_seconds, cost.predict_ms_per_row, cost.memory_bytes)
        _require(all(np.isfinite(v) and v > 0 for v in values),
                 f"{type(model).__name__}.estimate_cost({n_rows}, {n_features}) must be positive, got {cost}")


def _check_search_space(cls: type[ModelFamily]) -> None:
    params = set(cls().get_params())
    for n_rows, n_features in _COST_SIZES:
        unknown = set(cls.search_space(n_rows, n_features)) - params
        _require(not unknown, f"{cls.__name__}.search_space names unknown parameters {sorted(unknown)}")
        points = cls.starting_points(n_rows, n_features)
        _require(len(points) > 0, f"{cls.__name__}.starting_points must give at least one configuration")
        for point in points:
            _require(set(point) <= params, f"{cls.__name__}.starting_points names unknown parameters {point}")


def _check_binary_and_missing_class(cls: type[ModelFamily], X_dev: np.ndarray, budget: Budget) -> None:
    binary = synthetic_data(cls, "classification", 120, n_classes=2, seed=2)
    _check_proba(cls(**cls.test_params()).fit(binary, budget=budget), X_dev, 2)
    # A rare class can be absent from a training split: its column must stay.
    full = synthetic_data(cls, "classification", 120, n_classes=3, seed=3)
    y = np.asarray(full.y)
    absent = Prepared(X=full.X[y != 2], y=y[y != 2], task="classification", n_classes=3,
                      categorical=full.categorical, shape=full.shape)
    _check_proba(cls(**cls.test_params()).fit(absent, budget=budget), X_dev, 3)


def _check_weights(cls: type[ModelFamily], train: Prepared, dev: Prepared, budget: Budget) -> None:
    """Rows of the first class (regression: the larger half of the targets) weighted 20 times the others
    must raise the mean predicted probability of that class (the mean prediction) on dev."""
    y = np.asarray(train.y)
    heavy = y == 0 if train.task == "classification" else y > np.median(y)
    weighted = dataclasses.replace(train, weight=np.where(heavy, 20.0, 1.0))

    def mean_output(data: Prepared) -> float:
        out = cls(**cls.test_params()).fit(data, budget=budget).output(dev.X)
        return float(np.mean(out[:, 0] if train.task == "classification" else out))

    plain, pulled = mean_output(train), mean_output(weighted)
    _require(pulled > plain, f"{cls.__name__}.fit ignores Prepared.weight: rows weighted 20x did not pull the "
                             f"predictions their way (mean output {plain:.4f} unweighted, {pulled:.4f} weighted)")


def _check_bad_params(cls: type[ModelFamily], train: Prepared, dev: Prepared,
                      bad_params: dict[str, Any] | None) -> None:
    if bad_params is None:
        bad_params = {k: -1 for k, v in cls().get_params().items()
                      if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for name, value in bad_params.items():
        try:
            model = cls(**{**cls.test_params(), name: value})
        except Exception as exc:
            raise AssertionError(f"{cls.__name__}({name}={value!r}) raised {type(exc).__name__}: "
                                 "__init__ must only store its arguments; check them in fit") from exc
        try:
            model.fit(train, dev, budget=Budget(n_threads=1, seed=0))
        except ConfigError as exc:
            _require(name in str(exc),
                     f"{cls.__name__}: the error for {name}={value!r} does not name it: {exc}")
            continue
        except Exception as exc:
            raise AssertionError(f"{cls.__name__}.fit with {name}={value!r} must raise ConfigError naming "
                                 f"{name!r}; it raised {type(exc).__name__}: {exc}") from exc
        raise AssertionError(f"{cls.__name__}.fit accepted the bad value {name}={value!r}")


def _require(condition: bool, message: str) -> None:
    # Not ``assert``: a contract check must still check under ``python -O``.
    if not condition:
        raise AssertionError(message)
