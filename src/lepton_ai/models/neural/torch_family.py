"""The base of every neural family: fit through the shared loop, predict in chunks, save as safetensors.

A subclass says what its network is (:meth:`TorchFamily._network`: a module from flat float32 rows
``(n, n_features)`` to ``(n, n_outputs)`` logits or standardised values), what it learns from the
training split before the network exists (:meth:`TorchFamily._prepare`: input layout, normalisation
statistics), and how it trains (:meth:`TorchFamily._settings`, :meth:`TorchFamily._augment`).
Normalisation lives inside the network as buffers, so the saved weights and the exported module carry it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ...errors import ConfigError
from ...features.prepared import Prepared
from ...files import load_arrays, save_arrays
from ..base import Budget, FitReport, ModelFamily
from .torch_train import PRECISIONS, Augment, TrainSettings, train_network

__all__ = ["TorchFamily", "fold_batchnorm"]

_PREDICT_CHUNK = 4096
WEIGHTS_FILE = "weights.safetensors"


class TorchFamily(ModelFamily):
    """Shared fitting, prediction, persistence and export of the neural families."""

    neural = True
    preload = ("torch",)
    length_param = "epochs"
    anytime = True  # the learning-rate schedule is fitted to the deadline; the best epoch is kept
    # bf16 and dynamic int8 in PyTorch, fp32 and int8 ONNX (models.derived, made by compress.variants).
    variant_kinds = ("torch-bf16", "torch-int8", "onnx", "onnx-int8")
    # Parameters that may change between a checkpoint and the fit that resumes it.
    resumable_changes: ClassVar[tuple[str, ...]] = ("epochs", "patience")

    # ---- what a subclass provides ---------------------------------------------------------
    def _check_params(self) -> None:
        """Raise ConfigError naming a bad parameter. The default checks the training parameters."""
        for name in ("epochs", "batch_size", "patience"):
            self._check_int(name, 1)
        self._check_float("learning_rate", 0.0)
        self._check_float("weight_decay", 0.0, include_low=True)
        params = self.get_params()
        if "label_smoothing" in params:
            self._check_float("label_smoothing", 0.0, 1.0, include_low=True)
        if "precision" in params and params["precision"] not in PRECISIONS:
            raise ConfigError(f"The 'precision' parameter of {type(self).__name__} must be one of "
                              f"{', '.join(PRECISIONS)}. Got {params['precision']!r}.")

    def _prepare(self, train: Prepared) -> None:
        """Learn what the network needs from the training split (layout, statistics). Default: nothing."""

    def _network(self) -> Any:
        """A fresh network for the fitted layout: flat rows in, ``self._out_width()`` columns out."""
        raise NotImplementedError

    def _network_state(self) -> dict[str, Any]:
        """Plain JSON that :meth:`_network` needs besides the parameters (saved in family.json)."""
        return {}

    def _load_network_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`_network_state` returned."""

    def _augment(self) -> Augment | None:
        return None

    def _for_inference(self, net: Any) -> Any:
        """The trained network as predictions run it. Default: BatchNorm folded into the convolution
        before it (one pass over the activations fewer: ~1.35x faster CNN inference on the reference
        node); the saved weights are those of this form."""
        return fold_batchnorm(net)

    def _settings(self) -> TrainSettings:
        params = self.get_params()
        return TrainSettings(
            epochs=self.epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
            weight_decay=self.weight_decay, patience=self.patience,
            label_smoothing=float(params.get("label_smoothing", 0.0)), precision=params.get("precision", "fp32"),
            owner=f"{type(self).__name__} ({self.name})",
        )

    # ---- fitting and predicting -----------------------------------------------------------
    def fit(self, train: Prepared, dev: Prepared | None = None, *, budget: Budget | None = None) -> TorchFamily:
        import torch

        self._check_params()
        budget = budget or Budget()
        if train.y is None:
            raise ConfigError(f"{type(self).__name__}.fit: the training split has no labels.")
        self._set_task(train)
        torch.manual_seed(budget.seed)
        self.n_features_ = int(train.X.shape[1])
        self.y_mean_, self.y_std_ = 0.0, 1.0
        if train.task == "regression":
            self.y_mean_, self.y_std_ = float(train.y.mean()), float(train.y.std() or 1.0)
        self._prepare(train)
        net = self._network()
        dev_pair = (dev.X, self._target(dev.y)) if dev is not None and dev.y is not None and len(dev.y) else None
        outcome = train_network(
            net, np.asarray(train.X), self._target(train.y), dev_pair, task=train.task,
            n_outputs=self._out_width(), settings=self._settings(), budget=budget, augment=self._augment(),
            fingerprint=self._fingerprint(len(train.X)), weight=train.weight,
        )
        self.net_ = self._for_inference(net)
        self.history_ = outcome.history
        self.epochs_run_ = outcome.epochs_run
        self.precision_ = outcome.precision
        return self

    def _raw_predict(self, X: np.ndarray) -> np.ndarray:
        import torch

        self._check_fitted()
        rows = np.ascontiguousarray(X, dtype=np.float32)
        if rows.ndim != 2 or rows.shape[1] != self.n_features_:
            raise ConfigError(f"{type(self).__name__}: expected rows of {self.n_features_} features, "
                              f"got an array of shape {rows.shape}.")
        with torch.inference_mode():
            tensor = torch.from_numpy(rows)
            out = torch.cat([self.net_(tensor[i : i + _PREDICT_CHUNK]) for i in range(0, len(rows), _PREDICT_CHUNK)])
            if self.task_ == "regression":
                return out[:, 0].double().numpy() * self.y_std_ + self.y_mean_
            return torch.softmax(out.double(), dim=1).numpy()

    def export_module(self) -> Any:
        """The network with its output head: flat float32 rows in, probabilities or values out."""
        from .export import output_module

        self._check_fitted()
        return output_module(self.net_, self.task_, y_mean=self.y_mean_, y_std=self.y_std_)

    def fit_report(self) -> FitReport:
        """The epochs run and one history row per epoch."""
        return FitReport(length=self.epochs_run_, history=tuple(self.history_))

    @classmethod
    def refit_params(cls, params: dict[str, Any], report: FitReport) -> dict[str, Any]:
        """The epoch with the lowest dev loss, as early stopping chose it."""
        history = [h for h in report.history if h.get("dev_loss") is not None]
        if not history:
            return dict(params)
        best = min(history, key=lambda h: (h["dev_loss"], h["epoch"]))
        return {**params, "epochs": int(best["epoch"])}

    # ---- helpers ------------------------------------------------------------------------
    def _out_width(self) -> int:
        return self.n_classes_ if self.task_ == "classification" else 1

    def _target(self, y: np.ndarray) -> np.ndarray:
        if self.task_ == "classification":
            return np.asarray(y, dtype=np.int64)
        return ((np.asarray(y, dtype=np.float64) - self.y_mean_) / self.y_std_).astype(np.float32)

    def _fingerprint(self, n_rows: int) -> dict[str, Any]:
        """What must match for a checkpoint to be resumed by this fit."""
        fixed = {f"param.{k}": v for k, v in self.get_params().items() if k not in self.resumable_changes}
        return {"family": self.name, "n_rows": n_rows, "n_features": self.n_features_,
                "n_outputs": self._out_width(), "task": self.task_, **fixed}

    # ---- persistence ----------------------------------------------------------------------
    def _save_weights(self, directory: Path) -> list[Path]:
        arrays = {k: v.detach().cpu().numpy() for k, v in self.net_.state_dict().items()}
        return [save_arrays(directory / WEIGHTS_FILE, arrays)]

    def _load_weights(self, directory: Path, state: dict[str, Any]) -> None:
        import torch

        self.n_features_ = int(state["n_features"])
        self.y_mean_, self.y_std_ = float(state["y_mean"]), float(state["y_std"])
        self.epochs_run_ = int(state.get("epochs_run", 0))
        self.history_ = list(state.get("history", []))
        self.precision_ = str(state.get("precision", "fp32"))
        self._load_network_state(state.get("network", {}))
        net = self._for_inference(self._network().eval())
        arrays = load_arrays(directory / WEIGHTS_FILE)
        net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in arrays.items()})
        self.net_ = net.eval()

    def _state_json(self) -> dict[str, Any]:
        return {"n_features": self.n_features_, "y_mean": self.y_mean_, "y_std": self.y_std_,
                "epochs_run": self.epochs_run_, "history": self.history_, "precision": self.precision_,
                "network": self._network_state()}


def fold_batchnorm(net: Any) -> Any:
    """Fold every BatchNorm that directly follows a convolution in an ``nn.Sequential`` into that
    convolution (eval mode; the BatchNorm becomes an Identity, so layer indexes keep their names)."""
    import torch
    import torch.nn as nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    net.eval()
    for module in list(net.modules()):
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in zip(names, names[1:], strict=False):
            conv, norm = module._modules[first], module._modules[second]
            if isinstance(conv, (nn.Conv1d, nn.Conv2d)) and isinstance(norm, (nn.BatchNorm1d, nn.BatchNorm2d)):
                fused = fuse_conv_bn_eval(conv, norm)
                if fused.weight.dim() == 4:
                    fused = fused.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
                module._modules[first] = fused
                module._modules[second] = nn.Identity()
    return net
